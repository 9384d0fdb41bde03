namespace Serverless.Testing.Stripe;

/// <summary>The outcome of checking one meter event: the meter, customer and value, or Stripe's error code and message.</summary>
internal sealed record MeterEventCheck(FakeStripeMeter? Meter, string? CustomerId, long Value, string? ErrorCode, string? ErrorMessage, string? ErrorParam)
{
    /// <summary>The meter an error is reported against (null when no meter has the event name).</summary>
    public string? ReportMeterId { get; init; }

    public bool Succeeded => ErrorCode is null;

    public static MeterEventCheck Fail(string code, string message, string param, string? meterId) =>
        new(null, null, 0, code, message, param) { ReportMeterId = meterId };
}
