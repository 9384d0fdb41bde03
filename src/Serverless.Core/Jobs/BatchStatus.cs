namespace Serverless.Core.Jobs;

/// <summary>OpenAI's batch statuses.</summary>
public static class BatchStatus
{
    public const string Validating = "validating";
    public const string Failed = "failed";
    public const string InProgress = "in_progress";
    public const string Finalizing = "finalizing";
    public const string Completed = "completed";
    public const string Expired = "expired";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";

    public static bool IsFinal(string status) => status is Failed or Completed or Expired or Cancelled;

    /// <summary>Whether a cancel request changes anything (<see cref="BatchStore.RequestCancelAsync"/> moves exactly these to cancelling).</summary>
    public static bool IsCancellable(string status) => status is Validating or InProgress;
}
