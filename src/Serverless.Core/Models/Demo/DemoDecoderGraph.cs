using Onnx;
using static Serverless.Core.Models.Demo.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Serverless.Core.Models.Demo;

/// <summary>
/// Builds the demo model as a llama-style decoder in the layout ONNX Runtime GenAI's model builder emits:
/// Gather embedding, per layer RMSNorm, int4 q/k/v/o projections (MatMulNBits), GroupQueryAttention with
/// fused rotary and a KV cache, RMSNorm and a SwiGLU MLP; then a final RMSNorm, an int4 lm_head and fixed
/// preferences (<see cref="DemoTokenPreferences"/>) that confine unguided output to the allow-list and
/// end-of-text and make JSON come out whole under guidance, with a state layer (<see cref="DemoJsonState"/>)
/// that ends the strings the model writes.
/// </summary>
internal static class DemoDecoderGraph
{
    public const int QuantBlockSize = 32;

    /// <summary>Spread (standard deviation) of the allowed words' logits for any context.</summary>
    public const double LogitSpread = 1.5;

    /// <summary>
    /// End-of-text's logit sits this far below the best allowed word's at every position, so greedy decoding
    /// never ends early while sampling ends now and then, relative to the context rather than at a fixed level
    /// that top-k would always cut. Measured mean run lengths: ~340 tokens at temperature 1 over the whole
    /// vocabulary, ~760 with top_k 50, ~1,600 at temperature 0.7 with top_k 50.
    /// </summary>
    public const float EndOfTextMargin = 3.2f;

    /// <summary>
    /// Added to the logits of every token outside the allow-list and the JSON tier. Large enough that exp() of it is exactly
    /// zero in float at any temperature a client may ask for, small enough to stay finite after scaling.
    /// </summary>
    public const float MaskedLogit = -1e9f;

    private const float RmsEpsilon = 1e-5f;
    private const double RopeTheta = 10000;

    // Weights are drawn as int4 levels 1..15 around the zero point 8 (so -7..7, mean zero); their variance:
    private static readonly double LevelVariance = Enumerable.Range(-7, 15).Average(l => (double)l * l);

    /// <summary>KV-cache layers of the model: the decoder's plus the JSON-state layer.</summary>
    public static int CacheLayers(DemoModelOptions options) => options.Layers + DemoJsonState.CacheLayers;

    public static ModelProto Build(DemoModelOptions options, IReadOnlyList<int> allowedTokenIds)
    {
        var preferences = DemoTokenPreferences.Build(Gpt2Vocabulary.Instance, allowedTokenIds);
        var random = new DemoRandom(options.Seed);
        var graph = new OnnxGraphBuilder("demo_llama");
        var hidden = options.Hidden;
        var kvWidth = options.KvHeads * options.HeadSize;
        var vocab = Gpt2Vocabulary.Size;

        graph.AddInput("input_ids", DataType.Int64, "batch_size", "sequence_length");
        graph.AddInput("attention_mask", DataType.Int64, "batch_size", "total_sequence_length");
        graph.AddInput("position_ids", DataType.Int64, "batch_size", "sequence_length");
        for (var layer = 0; layer < CacheLayers(options); layer++)
        {
            graph.AddInput($"past_key_values.{layer}.key", DataType.Float, "batch_size", options.KvHeads, "past_sequence_length", options.HeadSize);
            graph.AddInput($"past_key_values.{layer}.value", DataType.Float, "batch_size", options.KvHeads, "past_sequence_length", options.HeadSize);
        }

        graph.AddOutput("logits", DataType.Float, "batch_size", "sequence_length", vocab);
        for (var layer = 0; layer < CacheLayers(options); layer++)
        {
            graph.AddOutput($"present.{layer}.key", DataType.Float, "batch_size", options.KvHeads, "total_sequence_length", options.HeadSize);
            graph.AddOutput($"present.{layer}.value", DataType.Float, "batch_size", options.KvHeads, "total_sequence_length", options.HeadSize);
        }

        var (seqlensK, totalSeqLen) = AddMaskReformatting(graph);
        var (cos, sin) = AddRotaryCaches(graph, options);

        var embedding = UniformFloats(random, vocab * hidden, Math.Sqrt(3));
        var x = graph.AddNode("Gather", "/model/embed_tokens/Gather",
            [graph.AddFloats("model.embed_tokens.weight", [vocab, hidden], embedding), "input_ids"]);

        var projection = 1 / Math.Sqrt(hidden);
        for (var layer = 0; layer < options.Layers; layer++)
        {
            var prefix = $"/model/layers.{layer}";
            var norm1 = AddRmsNorm(graph, $"{prefix}/input_layernorm", x, hidden);
            var q = AddInt4MatMul(graph, random, $"{prefix}/attn/q_proj", norm1, hidden, hidden, projection);
            var k = AddInt4MatMul(graph, random, $"{prefix}/attn/k_proj", norm1, hidden, kvWidth, projection);
            var v = AddInt4MatMul(graph, random, $"{prefix}/attn/v_proj", norm1, hidden, kvWidth, projection);
            var attention = graph.AddNode(
                "GroupQueryAttention",
                $"{prefix}/attn/GroupQueryAttention",
                [q, k, v, $"past_key_values.{layer}.key", $"past_key_values.{layer}.value", seqlensK, totalSeqLen, cos, sin],
                [$"{prefix}/attn/GroupQueryAttention/output_0", $"present.{layer}.key", $"present.{layer}.value"],
                MicrosoftDomain,
                Attribute("num_heads", options.Heads),
                Attribute("kv_num_heads", options.KvHeads),
                Attribute("do_rotary", 1L),
                Attribute("rotary_interleaved", 0L),
                Attribute("local_window_size", -1L));
            var o = AddInt4MatMul(graph, random, $"{prefix}/attn/o_proj", attention, hidden, hidden, projection);
            var afterAttention = graph.AddNode("Add", $"{prefix}/attn/residual/Add", [x, o]);

            var norm2 = AddRmsNorm(graph, $"{prefix}/post_attention_layernorm", afterAttention, hidden);
            var gate = AddInt4MatMul(graph, random, $"{prefix}/mlp/gate_proj", norm2, hidden, options.Intermediate, projection);
            var up = AddInt4MatMul(graph, random, $"{prefix}/mlp/up_proj", norm2, hidden, options.Intermediate, projection);
            var sigmoid = graph.AddNode("Sigmoid", $"{prefix}/mlp/act_fn/Sigmoid", [gate]);
            var silu = graph.AddNode("Mul", $"{prefix}/mlp/act_fn/Mul", [gate, sigmoid]);
            var gated = graph.AddNode("Mul", $"{prefix}/mlp/Mul", [silu, up]);
            var down = AddInt4MatMul(graph, random, $"{prefix}/mlp/down_proj", gated, options.Intermediate, hidden, 1 / Math.Sqrt(options.Intermediate));
            x = graph.AddNode("Add", $"{prefix}/mlp/residual/Add", [afterAttention, down]);
        }

        // After RMSNorm (unit weights) the hidden state has norm sqrt(hidden) whatever the context, so
        // lm_head rows with this spread give allowed-word logits with standard deviation LogitSpread.
        var finalNorm = AddRmsNorm(graph, "/model/norm", x, hidden);
        var lmHead = AddInt4MatMul(graph, random, "/lm_head", finalNorm, hidden, vocab, LogitSpread / Math.Sqrt(hidden));
        var jsonState = DemoJsonState.Add(graph, options, preferences.StateClass, seqlensK, totalSeqLen);
        AddPreferences(graph, lmHead, preferences, jsonState);

        var model = new ModelProto
        {
            IrVersion = 10,
            ProducerName = "Serverless.Core.DemoModelWriter",
            ProducerVersion = "1",
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 21 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return model;
    }

    /// <summary>
    /// Allowed words keep their logits, the JSON tier sits far below them in its fixed order and everything
    /// else is masked; end-of-text then takes the best allowed logit minus <see cref="EndOfTextMargin"/> at
    /// every position, and the JSON state's signals move the JSON tier (the closing quote above the words
    /// where a string has its words; digits below "," after a digit).
    /// </summary>
    private static void AddPreferences(OnnxGraphBuilder graph, string lmHead, DemoTokenPreferences preferences, string jsonState)
    {
        var isEndOfText = new byte[Gpt2Vocabulary.Size];
        isEndOfText[Gpt2Vocabulary.EndOfTextId] = 1;

        var masked = graph.AddNode("Add", "/lm_head/allow_list/Add", [lmHead, graph.AddFloats("lm_head.allow_list.bias", [Gpt2Vocabulary.Size], preferences.Bias)]);
        var best = graph.AddNode("ReduceMax", "/lm_head/allow_list/ReduceMax",
            [masked, graph.AddInt64s("/model/constants/INT64/[-1]", [1], -1)], attributes: Attribute("keepdims", 1L));
        var endOfText = graph.AddNode("Sub", "/lm_head/allow_list/Sub", [best, graph.AddFloats("lm_head.allow_list.eot_margin", [], [EndOfTextMargin])]);
        var signalBias = graph.AddFloats("lm_head.json_state.bias", [DemoJsonState.Signals, Gpt2Vocabulary.Size], preferences.SignalBias);
        var steered = graph.AddNode("Add", "/lm_head/json_state/Add",
            [masked, graph.AddNode("MatMul", "/lm_head/json_state/MatMul", [jsonState, signalBias])]);
        graph.AddNode("Where", "/lm_head/allow_list/Where",
            [graph.AddInitializer("lm_head.allow_list.is_eot", DataType.Bool, [Gpt2Vocabulary.Size], isEndOfText), endOfText, steered],
            ["logits"]);
    }

    /// <summary>GroupQueryAttention takes the mask as per-row "last valid index" plus the total length, both int32.</summary>
    private static (string SeqlensK, string TotalSeqLen) AddMaskReformatting(OnnxGraphBuilder graph)
    {
        const string prefix = "/model/attn_mask_reformat";
        var one = graph.AddInt64s("/model/constants/INT64/[1]", [1], 1);
        var scalarOne = graph.AddInt64s("/model/constants/INT64/1", [], 1);

        var sum = graph.AddNode("ReduceSum", $"{prefix}/ReduceSum", ["attention_mask", one], attributes: Attribute("keepdims", 0L));
        var lastIndex = graph.AddNode("Sub", $"{prefix}/Sub", [sum, one]);
        var seqlensK = graph.AddNode("Cast", $"{prefix}/Sub/Cast", [lastIndex], attributes: Attribute("to", (long)DataType.Int32));

        var shape = graph.AddNode("Shape", $"{prefix}/Shape", ["attention_mask"]);
        var total = graph.AddNode("Gather", $"{prefix}/Gather", [shape, scalarOne], attributes: Attribute("axis", 0L));
        var totalSeqLen = graph.AddNode("Cast", $"{prefix}/Gather/Cast", [total], attributes: Attribute("to", (long)DataType.Int32));
        return (seqlensK, totalSeqLen);
    }

    private static (string Cos, string Sin) AddRotaryCaches(OnnxGraphBuilder graph, DemoModelOptions options)
    {
        var half = options.HeadSize / 2;
        var cos = new float[options.ContextLength * half];
        var sin = new float[cos.Length];
        for (var position = 0; position < options.ContextLength; position++)
        {
            for (var i = 0; i < half; i++)
            {
                // Double precision then rounding to float hides last-bit differences between platform math libraries.
                var angle = position / Math.Pow(RopeTheta, 2.0 * i / options.HeadSize);
                cos[(position * half) + i] = (float)Math.Cos(angle);
                sin[(position * half) + i] = (float)Math.Sin(angle);
            }
        }

        return (graph.AddFloats("cos_cache", [options.ContextLength, half], cos),
                graph.AddFloats("sin_cache", [options.ContextLength, half], sin));
    }

    private static string AddRmsNorm(OnnxGraphBuilder graph, string name, string input, int hidden)
    {
        var ones = new float[hidden];
        Array.Fill(ones, 1f);
        var weight = graph.AddFloats(name[1..].Replace('/', '.') + ".weight", [hidden], ones);
        return graph.AddNode("SimplifiedLayerNormalization", $"{name}/SimplifiedLayerNormalization", [input, weight],
            attributes: [Attribute("axis", -1L), Attribute("epsilon", RmsEpsilon), Attribute("stash_type", 1L)]);
    }

    /// <summary>
    /// An int4 MatMulNBits with random weights: B is [N, K/32, 16] bytes, two levels per byte with the
    /// first in the low nibble, one float scale per block and the default zero point 8.
    /// </summary>
    private static string AddInt4MatMul(OnnxGraphBuilder graph, DemoRandom random, string name, string input, int k, int n, double weightStdDev)
    {
        var blocks = k / QuantBlockSize;
        var packed = new byte[(long)n * blocks * (QuantBlockSize / 2)];
        for (var i = 0; i < packed.Length; i++)
        {
            var low = 1 + random.NextInt(15);
            var high = 1 + random.NextInt(15);
            packed[i] = (byte)(low | (high << 4));
        }

        var scales = new float[n * blocks];
        Array.Fill(scales, (float)(weightStdDev / Math.Sqrt(LevelVariance)));

        var initializer = name[1..].Replace('/', '.');
        var weight = graph.AddInitializer($"{initializer}.MatMul.weight_Q4", DataType.Uint8, [n, blocks, QuantBlockSize / 2], packed);
        var scale = graph.AddFloats($"{initializer}.MatMul.weight_scales", [n * blocks], scales);
        return graph.AddNode("MatMulNBits", $"{name}/MatMul_Q4", [input, weight, scale], MicrosoftDomain,
            Attribute("K", k), Attribute("N", n), Attribute("bits", 4L), Attribute("block_size", (long)QuantBlockSize), Attribute("accuracy_level", 4L));
    }

    private static float[] UniformFloats(DemoRandom random, int count, double halfWidth)
    {
        var values = new float[count];
        var scale = (float)halfWidth;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSignedUnit() * scale;
        }

        return values;
    }
}
