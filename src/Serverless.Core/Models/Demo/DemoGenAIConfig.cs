using System.Text.Json;

namespace Serverless.Core.Models.Demo;

/// <summary>genai_config.json for the demo model, with the fields ONNX Runtime GenAI's model builder writes for llama.</summary>
internal static class DemoGenAIConfig
{
    public static byte[] Build(DemoModelOptions options)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("model");
            json.WriteNumber("bos_token_id", Gpt2Vocabulary.EndOfTextId);
            json.WriteNumber("context_length", options.ContextLength);
            json.WriteStartObject("decoder");
            json.WriteStartObject("session_options");
            json.WriteString("log_id", "onnxruntime-genai");
            json.WriteStartArray("provider_options");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("filename", DemoModelWriter.ModelFileName);
            json.WriteNumber("head_size", options.HeadSize);
            json.WriteNumber("hidden_size", options.Hidden);
            json.WriteStartObject("inputs");
            json.WriteString("input_ids", "input_ids");
            json.WriteString("attention_mask", "attention_mask");
            json.WriteString("position_ids", "position_ids");
            json.WriteString("past_key_names", "past_key_values.%d.key");
            json.WriteString("past_value_names", "past_key_values.%d.value");
            json.WriteEndObject();
            json.WriteStartObject("outputs");
            json.WriteString("logits", "logits");
            json.WriteString("present_key_names", "present.%d.key");
            json.WriteString("present_value_names", "present.%d.value");
            json.WriteEndObject();
            json.WriteNumber("num_attention_heads", options.Heads);
            json.WriteNumber("num_hidden_layers", DemoDecoderGraph.CacheLayers(options));
            json.WriteNumber("num_key_value_heads", options.KvHeads);
            json.WriteEndObject();
            json.WriteNumber("eos_token_id", Gpt2Vocabulary.EndOfTextId);
            json.WriteNumber("pad_token_id", Gpt2Vocabulary.EndOfTextId);
            json.WriteString("type", "llama");
            json.WriteNumber("vocab_size", Gpt2Vocabulary.Size);
            json.WriteEndObject();

            json.WriteStartObject("search");
            json.WriteNumber("diversity_penalty", 0.0);
            json.WriteBoolean("do_sample", false);
            json.WriteBoolean("early_stopping", true);
            json.WriteNumber("length_penalty", 1.0);
            json.WriteNumber("max_length", options.ContextLength);
            json.WriteNumber("min_length", 0);
            json.WriteNumber("no_repeat_ngram_size", 0);
            json.WriteNumber("num_beams", 1);
            json.WriteNumber("num_return_sequences", 1);
            // GroupQueryAttention updates the cache in place, so past and present can share one buffer.
            json.WriteBoolean("past_present_share_buffer", true);
            json.WriteNumber("repetition_penalty", 1.0);
            json.WriteNumber("temperature", 1.0);
            json.WriteNumber("top_k", 50);
            json.WriteNumber("top_p", 1.0);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }
}
