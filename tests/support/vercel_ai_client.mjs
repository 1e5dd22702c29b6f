// The Vercel AI SDK (`ai` and `@ai-sdk/openai`, installed by `make vercel-ai` into .vercel-ai/) as a client
// of the gateway, with the provider's default settings: `openai.responses(model)` stores responses and sends
// earlier output back as `item_reference` items.  Run by tests/support/vercel_ai.py:
//
//   node vercel_ai_client.mjs SCENARIO BASE_URL MODEL
//
// prints one JSON object on stdout: what each step answered.
import { createRequire } from "node:module";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const modules = process.env.VERCEL_AI_DIR || path.join(here, "..", "..", ".vercel-ai");
const require = createRequire(path.join(modules, "package.json"));
const { generateText, streamText, tool, stepCountIs } = await import(require.resolve("ai"));
const { createOpenAI } = await import(require.resolve("@ai-sdk/openai"));
const { z } = await import(require.resolve("zod"));

const [scenario, baseURL, modelName] = process.argv.slice(2);
const openai = createOpenAI({ baseURL, apiKey: "sk-test" });
const model = openai.responses(modelName);

async function twoTurns() {
  const messages = [{ role: "user", content: "My name is Ada." }];
  const first = await generateText({ model, messages });
  messages.push(...first.response.messages, { role: "user", content: "What is my name?" });
  const second = streamText({ model, messages });
  const text = await second.text;
  return { first: first.text, second: text, sent: messages.length };
}

async function toolLoop() {
  const result = await generateText({
    model,
    prompt: "Who is Ada?",
    tools: {
      lookup: tool({
        description: "Look a name up.",
        inputSchema: z.object({ q: z.string() }),
        execute: async ({ q }) => `${q}: a mathematician`,
      }),
    },
    stopWhen: stepCountIs(3),
  });
  return {
    steps: result.steps.map((step) => ({
      text: step.text,
      reasoning: step.reasoningText ?? null,
      calls: step.toolCalls.map((call) => call.toolName),
    })),
    text: result.text,
  };
}

const scenarios = { "two-turns": twoTurns, "tool-loop": toolLoop };
try {
  process.stdout.write(JSON.stringify(await scenarios[scenario]()) + "\n");
} catch (error) {
  process.stderr.write(String(error?.stack || error) + "\n");
  process.exit(1);
}
