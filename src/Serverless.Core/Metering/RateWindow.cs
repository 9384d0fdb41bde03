namespace Serverless.Core.Metering;

/// <summary>Requests and tokens of one key or customer in one one-minute window, shared by all instances.</summary>
public sealed class RateWindow
{
    public required string Scope { get; set; }

    public required string ScopeId { get; set; }

    public DateTimeOffset WindowStart { get; set; }

    public long Requests { get; set; }

    public long Tokens { get; set; }
}
