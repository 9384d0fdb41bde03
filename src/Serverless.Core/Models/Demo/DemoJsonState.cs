using static Serverless.Core.Models.Demo.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Serverless.Core.Models.Demo;

/// <summary>
/// Where the demo model is in JSON it writes, as two signals per position that move the JSON tier of
/// <see cref="DemoTokenPreferences"/>: "close the string now" and "the last token was a digit". Inside a
/// string a token mask allows both words and the closing quote, so a fixed ranking would never end it: a
/// hand-built attention layer finds where the string started and counts its words (after
/// <see cref="WordsPerString"/> the closing quote wins), keeping its state in the KV cache like any layer
/// (past_key_values.N and present.N for N = <see cref="DemoModelOptions.Layers"/>). After a digit, more digits
/// drop below "," and "}", so numbers end.
/// </summary>
/// <remarks>
/// <para>
/// A string counts as opened by the model when a single-token quote directly follows one of
/// <see cref="DemoTokenPreferences.QuotePrefixes"/> as separate tokens: byte-pair encoding merges each of those
/// pairs, so no encoded text contains them, and whatever a prompt quotes, unguided output stays allow-listed
/// words. Under guidance the model writes JSON one punctuation token at a time, so its strings start that way.
/// A string at the top level (right after the prompt) has no such prefix and does not end by itself.
/// </para>
/// <para>
/// Two query heads share one set of keys and values. Head A attends to the latest token that is neither a word
/// nor a quote (scores C·[such a token] + B·j at key position j), head B to the latest token that is not a word
/// (C·[not a word] + B·j); C outweighs any recency, and B = 32 makes the latest one win by at least 32 nats, so
/// both read their token's values exactly (to about 1e-14). With values D·[prefix] + j and D·[quote] − j,
/// A + B = 2D − 1 exactly when B's token is a quote right after A's prefix token, and t − (B's position) is the
/// number of words since. Everything is small integers in float, so the tests are exact.
/// </para>
/// </remarks>
internal static class DemoJsonState
{
    /// <summary>KV-cache layers this adds after the decoder's own.</summary>
    public const int CacheLayers = 1;

    /// <summary>Words a string gets before the model prefers the closing quote.</summary>
    public const int WordsPerString = 3;

    /// <summary>Signals per position, in this order: close the string; the last token was a digit.</summary>
    public const int Signals = 2;

    private const int ClassFeatures = 5;
    private const float Recency = 32f;
    private const float Marked = 16f;

    /// <summary>What the state layer needs to know about a token.</summary>
    public enum TokenClass
    {
        Word = 0,
        Other = 1,
        Quote = 2,
        QuotePrefix = 3,
        Digit = 4,
    }

    /// <summary>Adds the layer and returns the float [batch, sequence, <see cref="Signals"/>] signals, each 1 or 0.</summary>
    public static string Add(OnnxGraphBuilder graph, DemoModelOptions options, int[] tokenClasses, string seqlensK, string totalSeqLen)
    {
        const string prefix = "/model/json_state";
        var layer = options.Layers;
        var head = options.HeadSize;

        // Two query heads are all it needs, but they must be a multiple of the kv heads, which the KV cache's shape fixes.
        var heads = options.KvHeads >= 2 ? options.KvHeads : 2;

        var positions = graph.AddNode("Unsqueeze", $"{prefix}/positions/Unsqueeze",
            [graph.AddNode("Cast", $"{prefix}/positions/Cast", ["position_ids"], attributes: Attribute("to", (long)DataType.Float)),
             graph.AddInt64s($"{prefix}/constants/axis_last", [1], -1)]);

        float[] classFeatures =
        [
            0, 0, 0, 0, 1, // word
            1, 0, 0, 0, 1, // other
            1, 1, 0, 0, 1, // quote
            1, 0, 1, 0, 1, // quote prefix
            1, 0, 0, 1, 1, // digit
        ];
        var features = graph.AddNode("Gather", $"{prefix}/features/Gather",
            [graph.AddFloats($"{prefix}.class_features", [classFeatures.Length / ClassFeatures, ClassFeatures], classFeatures),
             graph.AddNode("Gather", $"{prefix}/classes/Gather",
                 [graph.AddInitializer($"{prefix}.token_class", DataType.Int32, [tokenClasses.Length], Int32Bytes(tokenClasses)), "input_ids"],
                 attributes: Attribute("axis", 0L))],
            attributes: Attribute("axis", 0L));

        // Inputs: 0 not a word, 1 quote, 2 quote prefix, 3 digit, 4 one, 5 position.
        const int notWord = 0, quote = 1, quotePrefix = 2, digit = 3, one = 4, position = 5;
        var input = graph.AddNode("Concat", $"{prefix}/Concat", [features, positions], attributes: Attribute("axis", -1L));

        // Keys: 0 position, 1 neither a word nor a quote, 2 not a word. Values: 0 D·prefix + j, 1 D·quote − j, 2 −j.
        var choose = 2 * Recency * options.ContextLength;
        var weights = new PackedWeights(options, heads, inputs: 6);
        weights.Query(headIndex: 0, (one, 0, Recency), (one, 1, choose));
        weights.Query(headIndex: 1, (one, 0, Recency), (one, 2, choose));
        weights.KeyAndValue(
            keys: [(position, 0, 1), (notWord, 1, 1), (quote, 1, -1), (notWord, 2, 1)],
            values: [(quotePrefix, 0, Marked), (position, 0, 1), (quote, 1, Marked), (position, 1, -1), (position, 2, -1)]);
        var packed = graph.AddNode("MatMul", $"{prefix}/qkv_proj/MatMul",
            [input, graph.AddFloats("model.json_state.qkv_proj.weight", [6, weights.Width], weights.Matrix)]);
        var attention = graph.AddNode(
            "GroupQueryAttention",
            $"{prefix}/GroupQueryAttention",
            [packed, string.Empty, string.Empty, $"past_key_values.{layer}.key", $"past_key_values.{layer}.value", seqlensK, totalSeqLen],
            [$"{prefix}/GroupQueryAttention/output_0", $"present.{layer}.key", $"present.{layer}.value"],
            MicrosoftDomain,
            Attribute("num_heads", (long)heads),
            Attribute("kv_num_heads", options.KvHeads),
            Attribute("scale", 1f),
            Attribute("do_rotary", 0L),
            Attribute("local_window_size", -1L));

        // [A0 + B1, B2 + t] against [2D − 1.5, words − 0.5]: both must hold.
        var readout = new float[((heads * head) + 1) * 2];
        readout[(0 * 2) + 0] = 1;
        readout[((head + 1) * 2) + 0] = 1;
        readout[((head + 2) * 2) + 1] = 1;
        readout[(heads * head * 2) + 1] = 1;
        var tests = graph.AddNode("MatMul", $"{prefix}/readout/MatMul",
            [graph.AddNode("Concat", $"{prefix}/readout/Concat", [attention, positions], attributes: Attribute("axis", -1L)),
             graph.AddFloats("model.json_state.readout.weight", [(heads * head) + 1, 2], readout)]);
        var passed = graph.AddNode("Cast", $"{prefix}/close/Cast",
            [graph.AddNode("Greater", $"{prefix}/close/Greater",
                [tests, graph.AddFloats("model.json_state.close.threshold", [2], [(2 * Marked) - 1.5f, WordsPerString - 0.5f])])],
            attributes: Attribute("to", (long)DataType.Float));
        var close = graph.AddNode("ReduceMin", $"{prefix}/close/ReduceMin",
            [passed, graph.AddInt64s($"{prefix}/constants/axis_last_list", [1], -1)], attributes: Attribute("keepdims", 1L));

        var afterDigit = graph.AddNode("Slice", $"{prefix}/features/digit/Slice",
            [features, graph.AddInt64s($"{prefix}/constants/digit", [1], digit), graph.AddInt64s($"{prefix}/constants/digit_end", [1], digit + 1),
             graph.AddInt64s($"{prefix}/constants/axis_last_slice", [1], -1)]);
        return graph.AddNode("Concat", $"{prefix}/signals/Concat", [close, afterDigit], attributes: Attribute("axis", -1L));
    }

    private static byte[] Int32Bytes(int[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>
    /// Packed q|k|v weights [inputs, (heads + 2·kv heads)·head size] for GroupQueryAttention. Every kv head gets
    /// the same keys and values, so each query head sees them whatever the grouping.
    /// </summary>
    private sealed class PackedWeights
    {
        private readonly DemoModelOptions _options;
        private readonly int _heads;

        public PackedWeights(DemoModelOptions options, int heads, int inputs)
        {
            _options = options;
            _heads = heads;
            Width = (heads + (2 * options.KvHeads)) * options.HeadSize;
            Matrix = new float[inputs * Width];
        }

        public int Width { get; }

        public float[] Matrix { get; }

        public void Query(int headIndex, params (int Input, int Column, float Weight)[] entries) =>
            Set(headIndex * _options.HeadSize, entries);

        public void KeyAndValue((int Input, int Column, float Weight)[] keys, (int Input, int Column, float Weight)[] values)
        {
            for (var kv = 0; kv < _options.KvHeads; kv++)
            {
                Set((_heads + kv) * _options.HeadSize, keys);
                Set((_heads + _options.KvHeads + kv) * _options.HeadSize, values);
            }
        }

        private void Set(int offset, (int Input, int Column, float Weight)[] entries)
        {
            foreach (var (input, column, weight) in entries)
            {
                Matrix[(input * Width) + offset + column] += weight;
            }
        }
    }
}
