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

// Structured outputs and tools, as the npm package sends them.
const citySchema = {
  type: 'object',
  properties: { city: { type: 'string' }, population: { type: 'integer' }, coastal: { type: 'boolean' } },
  required: ['city', 'population', 'coastal'],
  additionalProperties: false,
};
const structured = await client.chat.completions.create({
  model: 'demo', messages: [{ role: 'user', content: 'Describe a city.' }], max_tokens: 200, temperature: 0,
  response_format: { type: 'json_schema', json_schema: { name: 'city', schema: citySchema, strict: true } },
});
result.structured = { schema: citySchema, content: structured.choices[0].message.content, finish: structured.choices[0].finish_reason };

const weather = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'days'],
  additionalProperties: false,
};
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The forecast for a city', parameters: weather, strict: true } }];
const called = await client.chat.completions.create({
  model: 'demo', messages: [{ role: 'user', content: 'Weather in Oslo?' }], max_tokens: 200, temperature: 0, tools, tool_choice: 'required',
});
const toolCalls = called.choices[0].message.tool_calls ?? [];
result.tools = {
  schema: weather,
  finish: called.choices[0].finish_reason,
  calls: toolCalls.map((c) => ({ id: c.id, type: c.type, name: c.function.name, arguments: c.function.arguments })),
};

// The streaming helper assembles delta.tool_calls into whole calls.
const runner = client.chat.completions.stream({
  model: 'demo', messages: [{ role: 'user', content: 'Weather in Oslo?' }], max_tokens: 200, temperature: 0, tools,
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
});
const final = await runner.finalChatCompletion();
result.toolStream = {
  finish: final.choices[0].finish_reason,
  calls: (final.choices[0].message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
};

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
