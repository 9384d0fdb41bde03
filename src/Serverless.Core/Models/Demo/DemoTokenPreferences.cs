namespace Serverless.Core.Models.Demo;

/// <summary>
/// The demo model's fixed preferences over the vocabulary, in three tiers: the allow-listed words (their logits
/// come from the random weights), then the tokens JSON is written with, in a fixed order, then everything else
/// at <see cref="DemoDecoderGraph.MaskedLogit"/>. Unguided, the first tier always wins, so the model only says
/// allow-listed words; under guidance (a token mask) the best allowed token wins, which makes the structure of
/// JSON come out in the same order every time: a free value is a one-digit number, an object gets one member
/// unless the schema asks for more, containers close as soon as the schema allows.
/// </summary>
internal sealed class DemoTokenPreferences
{
    /// <summary>
    /// The JSON tier sits this far below the words. exp() of it underflows to exactly zero in float at any
    /// temperature up to about 90, so unguided sampling never picks it; it stays far above the masked level.
    /// </summary>
    public const float JsonTierLogit = -10_000f;

    /// <summary>How much the closing quote gains where a string has its words: from the JSON tier to above every word.</summary>
    public const float CloseStringBonus = -JsonTierLogit + 100f;

    /// <summary>After a digit, digits fall to just below ",", so a number ends as soon as the schema lets it.</summary>
    public const float DigitAfterDigitPenalty = 4.5f * JsonRankStep;

    /// <summary>
    /// Gap between two ranks of the JSON tier: many times the spread of the random logits on top of it, so the
    /// order holds for every context and, at temperature 1, a lower rank is sampled about once in e^40 choices.
    /// </summary>
    public const float JsonRankStep = 40f;

    /// <summary>The JSON tier in order of preference; each entry is one rank of one or more single tokens.</summary>
    private static readonly string[][] JsonRanks =
    [
        ["1", "2", "3", "4", "5", "6", "7", "8", "9"],          // a free value is a number (it always ends; a string
                                                                // at the top level would not, see DemoJsonState);
        ["\""],                                                 // open a string: a key, so a free object gets a member,
        ["}"],                                                  // then close an object as soon as the schema allows,
        ["]"],                                                  // and an array,
        [","],                                                  // else go on to the next member; after a digit these
        [":"],                                                  // win, so a number has one digit unless it needs more
        ["true", "false"],
        ["{", "["],
        ["0", "null"],
        ["-"],
        [" "],                                                  // whitespace only where a grammar requires it
        [".", "e", "E", "+"],
    ];

    /// <summary>
    /// Tokens that may stand right before an opening quote. Each forms a single GPT-2 token with the quote
    /// (<c>{"</c>, <c>["</c>, <c>:"</c>, <c>,"</c>, <c> "</c>), so byte-pair encoding of any text always merges the
    /// two: only the model itself, preferring single tokens, ever writes them as two. That is how the model
    /// knows a string it opened from one a prompt quoted.
    /// </summary>
    public static IReadOnlyList<string> QuotePrefixes { get; } = ["{", "[", ":", ",", " "];

    private const string JsonPunctuation = "{}[]:,\" ";

    private DemoTokenPreferences(float[] bias, int[] stateClass, float[] signalBias)
    {
        Bias = bias;
        StateClass = stateClass;
        SignalBias = signalBias;
    }

    /// <summary>Per token: 0 for allowed words, the JSON tier's rank level, or the masked level.</summary>
    public float[] Bias { get; }

    /// <summary>Per token, its <see cref="DemoJsonState.TokenClass"/>.</summary>
    public int[] StateClass { get; }

    /// <summary>
    /// [<see cref="DemoJsonState.Signals"/>, vocabulary]: what each of the JSON state's signals adds to each
    /// token's logit where it is 1.
    /// </summary>
    public float[] SignalBias { get; }

    public static DemoTokenPreferences Build(Gpt2Vocabulary vocabulary, IReadOnlyList<int> allowedTokenIds)
    {
        var bias = new float[Gpt2Vocabulary.Size];
        Array.Fill(bias, DemoDecoderGraph.MaskedLogit);
        var stateClass = new int[Gpt2Vocabulary.Size];
        Array.Fill(stateClass, (int)DemoJsonState.TokenClass.Other);

        // Longer runs of JSON punctuation (":", "},{"...) and of digits rank below every single token.
        var lastRank = JsonRanks.Length;
        var signalBias = new float[DemoJsonState.Signals * Gpt2Vocabulary.Size];
        for (var id = 0; id < Gpt2Vocabulary.EndOfTextId; id++)
        {
            var text = vocabulary.Text(id);
            var digits = text.All(char.IsAsciiDigit);
            if (text.Length > 1 && (digits || text.All(JsonPunctuation.Contains)))
            {
                bias[id] = RankLogit(lastRank);
            }

            if (digits)
            {
                stateClass[id] = (int)DemoJsonState.TokenClass.Digit;
                signalBias[Gpt2Vocabulary.Size + id] = -DigitAfterDigitPenalty;
            }
        }

        for (var rank = 0; rank < JsonRanks.Length; rank++)
        {
            foreach (var text in JsonRanks[rank])
            {
                bias[SingleToken(vocabulary, text)] = RankLogit(rank);
            }
        }

        foreach (var id in allowedTokenIds)
        {
            bias[id] = 0;
            stateClass[id] = (int)DemoJsonState.TokenClass.Word;
        }

        var quoteId = SingleToken(vocabulary, "\"");
        stateClass[quoteId] = (int)DemoJsonState.TokenClass.Quote;
        signalBias[quoteId] = CloseStringBonus;
        foreach (var prefix in QuotePrefixes)
        {
            if (vocabulary.SingleTokenId(prefix + "\"") < 0)
            {
                throw new InvalidOperationException($"'{prefix}\"' is not a single GPT-2 token, so encoded text could hold '{prefix}' and '\"' as two.");
            }

            stateClass[SingleToken(vocabulary, prefix)] = (int)DemoJsonState.TokenClass.QuotePrefix;
        }

        return new DemoTokenPreferences(bias, stateClass, signalBias);
    }

    private static float RankLogit(int rank) => JsonTierLogit - (rank * JsonRankStep);

    private static int SingleToken(Gpt2Vocabulary vocabulary, string text)
    {
        var id = vocabulary.SingleTokenId(text);
        return id >= 0 ? id : throw new InvalidOperationException($"'{text}' is not a single GPT-2 token.");
    }
}
