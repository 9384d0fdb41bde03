using System.Text.Encodings.Web;
using System.Text.Json;

namespace Serverless.Core.Models.Demo;

/// <summary>
/// tokenizer.json (Hugging Face tokenizers format: byte-level BPE with the full GPT-2 vocabulary) and
/// tokenizer_config.json (special tokens and the chat template) for the demo model.
/// </summary>
internal static class DemoTokenizerFiles
{
    /// <summary>
    /// Phi-3-style turns in plain text: "&lt;|user|&gt;" and friends are not tokens in GPT-2, they are
    /// ordinary characters to the tokenizer, which is all a demo model needs.
    /// </summary>
    public const string ChatTemplate =
        "{% for message in messages %}"
        + "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
        + "{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}";

    // Same bytes for every seed, and the slowest part to build, so it is built once per process.
    private static readonly Lazy<byte[]> TokenizerJson = new(BuildTokenizerJson);

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // Keeps "<|endoftext|>" and the byte-level characters readable; the files are data, never HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] GetTokenizerJson() => TokenizerJson.Value;

    public static byte[] BuildTokenizerConfigJson(int contextLength)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteBoolean("add_bos_token", false);
            json.WriteBoolean("add_eos_token", false);
            json.WriteBoolean("add_prefix_space", false);
            json.WriteStartObject("added_tokens_decoder");
            json.WriteStartObject(Gpt2Vocabulary.EndOfTextId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            WriteAddedTokenFields(json);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteString("bos_token", Gpt2Vocabulary.EndOfText);
            json.WriteString("chat_template", ChatTemplate);
            // Decoding must give back exactly what was encoded; GPT-2's old default would drop spaces before punctuation.
            json.WriteBoolean("clean_up_tokenization_spaces", false);
            json.WriteString("eos_token", Gpt2Vocabulary.EndOfText);
            json.WriteNumber("model_max_length", contextLength);
            json.WriteString("pad_token", Gpt2Vocabulary.EndOfText);
            json.WriteString("tokenizer_class", "GPT2Tokenizer");
            json.WriteString("unk_token", Gpt2Vocabulary.EndOfText);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static byte[] BuildTokenizerJson()
    {
        var vocabulary = Gpt2Vocabulary.Instance;
        using var stream = new MemoryStream(2 * 1024 * 1024);
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            json.WriteStartArray("added_tokens");
            json.WriteStartObject();
            json.WriteNumber("id", Gpt2Vocabulary.EndOfTextId);
            WriteAddedTokenFields(json);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteNull("normalizer");
            WriteByteLevel(json, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
            WriteByteLevel(json, "post_processor", addPrefixSpace: true, trimOffsets: false);
            WriteByteLevel(json, "decoder", addPrefixSpace: true, trimOffsets: true);

            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteNull("dropout");
            json.WriteNull("unk_token");
            json.WriteString("continuing_subword_prefix", string.Empty);
            json.WriteString("end_of_word_suffix", string.Empty);
            json.WriteBoolean("fuse_unk", false);
            json.WriteBoolean("byte_fallback", false);
            json.WriteBoolean("ignore_merges", false);
            json.WriteStartObject("vocab");
            for (var id = 0; id < vocabulary.Tokens.Count; id++)
            {
                json.WriteNumber(vocabulary.Tokens[id], id);
            }

            json.WriteEndObject();
            // "left right" strings (the classic format): byte-level tokens never contain a space, so it is unambiguous.
            json.WriteStartArray("merges");
            foreach (var (left, right) in vocabulary.Merges)
            {
                json.WriteStringValue(string.Concat(left, " ", right));
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteAddedTokenFields(Utf8JsonWriter json)
    {
        json.WriteString("content", Gpt2Vocabulary.EndOfText);
        json.WriteBoolean("single_word", false);
        json.WriteBoolean("lstrip", false);
        json.WriteBoolean("rstrip", false);
        json.WriteBoolean("normalized", true);
        json.WriteBoolean("special", true);
    }

    private static void WriteByteLevel(Utf8JsonWriter json, string property, bool addPrefixSpace, bool trimOffsets)
    {
        json.WriteStartObject(property);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", addPrefixSpace);
        json.WriteBoolean("trim_offsets", trimOffsets);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }
}
