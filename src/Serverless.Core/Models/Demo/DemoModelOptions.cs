namespace Serverless.Core.Models.Demo;

/// <summary>
/// Shape and seed of the generated demo model. The defaults give a ~15 MB model that loads in about
/// a tenth of a second; only the seed changes the weights, so the same options always give the same files.
/// </summary>
public sealed record DemoModelOptions
{
    public int Seed { get; init; } = 42;

    public int Layers { get; init; } = 2;

    /// <summary>Model width; a multiple of 32 because MatMulNBits quantizes in blocks of 32 inputs.</summary>
    public int Hidden { get; init; } = 64;

    public int Heads { get; init; } = 4;

    /// <summary>Key/value heads for grouped-query attention; must divide <see cref="Heads"/>.</summary>
    public int KvHeads { get; init; } = 2;

    /// <summary>Longest sequence (prompt plus output) the rotary caches cover.</summary>
    public int ContextLength { get; init; } = 2048;

    internal int HeadSize => Hidden / Heads;

    internal int Intermediate => 2 * Hidden;

    internal void Validate()
    {
        Require(Layers is >= 1 and <= 64, "Layers must be between 1 and 64.");
        Require(Hidden >= 32 && Hidden % 32 == 0, "Hidden must be a positive multiple of 32.");
        Require(Heads >= 1 && Hidden % Heads == 0, "Heads must divide Hidden.");
        Require(KvHeads >= 1 && Heads % KvHeads == 0, "KvHeads must divide Heads.");
        Require(HeadSize % 2 == 0 && HeadSize >= 4, "Hidden / Heads must be even for rotary embeddings and at least 4 for the JSON-state layer.");
        Require(ContextLength is >= 16 and <= 131072, "ContextLength must be between 16 and 131072.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, "options");
        }
    }
}
