using System.Text.Json;

namespace Serverless.Core.Jobs;

/// <summary>A valid input line as a chunk holds it.</summary>
public sealed record BatchInputLine(int Index, string CustomId, JsonElement Body);

/// <summary>A line's result entry for its chunk's results, and whether it goes to the output file.</summary>
public sealed record BatchLineOutcome(int Index, bool Ok, byte[] Entry)
{
    public static BatchLineOutcome Succeeded(int index, byte[] outputLine) => new(index, true, BatchLines.Entry(index, true, outputLine));

    public static BatchLineOutcome Failed(int index, byte[] errorLine) => new(index, false, BatchLines.Entry(index, false, errorLine));
}
