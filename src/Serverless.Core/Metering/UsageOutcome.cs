namespace Serverless.Core.Metering;

/// <summary>How a metered request ended.</summary>
public static class UsageOutcome
{
    /// <summary>Generation finished on its own (end of text or a stop sequence).</summary>
    public const string Completed = "completed";

    /// <summary>Generation reached max_tokens.</summary>
    public const string Length = "length";

    /// <summary>The client went away mid-generation; billed for the prompt and the tokens generated so far.</summary>
    public const string ClientDisconnected = "client_disconnected";

    /// <summary>Generation started but did not finish: an error, or the instance died (settled by the sweeper).</summary>
    public const string FailedAfterStart = "failed_after_start";

    /// <summary>Admitted but turned away before any token was generated (for example at capacity); costs nothing.</summary>
    public const string Rejected = "rejected";

    public static bool IsBillable(string outcome) => outcome != Rejected;
}
