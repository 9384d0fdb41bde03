// Drives the service with the official npm `openai` package and prints one JSON object of results.
// Usage: node openai-client.mjs <baseURL> <apiKey>
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const result = {};

const completion = await client.completions.create({ model: 'demo', prompt: 'Once upon a time', max_tokens: 16, temperature: 0 });
result.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage, object: completion.object };

let streamed = '';
let streamUsage = null;
let chunks = 0;
const stream = await client.completions.create({
  model: 'demo', prompt: 'Once upon a time', max_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  chunks++;
  if (chunk.choices.length > 0) streamed += chunk.choices[0].text;
  if (chunk.usage) streamUsage = chunk.usage;
}
result.completionStream = { text: streamed, usage: streamUsage, chunks };

const chat = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, temperature: 0 });
result.chat = { text: chat.choices[0].message.content, usage: chat.usage };

const models = [];
for await (const model of client.models.list()) models.push(model.id);
result.models = models;

try {
  await new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 }).models.list();
  result.wrongKey = 'accepted';
} catch (error) {
  result.wrongKey = error.constructor.name + ':' + error.status;
}

console.log(JSON.stringify(result));
