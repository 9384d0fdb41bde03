using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Core.Telemetry;

/// <summary>
/// The service's one <see cref="ActivitySource"/> and the names of its spans. Features start their spans here; nothing
/// is recorded unless a tracer provider listens (an exporter is configured, see <see cref="TelemetryServiceCollectionExtensions"/>),
/// so a span costs a null check when nobody does. Prompt and completion text never go into a span.
/// </summary>
public static class ServerlessTelemetry
{
    /// <summary>The name of the activity source and of the meter (<see cref="ServerlessMetrics"/>).</summary>
    public const string Name = "Serverless";

    public static readonly ActivitySource Source = new(Name, typeof(ServerlessTelemetry).Assembly.GetName().Version?.ToString(3));

    /// <summary>Starts a span as a child of the current one; null when nobody listens.</summary>
    public static Activity? Start(string name, ActivityKind kind = ActivityKind.Internal) => Source.StartActivity(name, kind);

    /// <summary>
    /// The trace of a batch: its id and the span id of its orchestration span, both derived from the batch id, so every
    /// activity of the batch (on any instance, after any restart, in either Durable runtime) finds its parent without
    /// storing anything. The orchestration span itself is recorded when the batch ends (<see cref="RecordBatchOrchestration"/>).
    /// </summary>
    public static ActivityContext BatchContext(string batchId)
    {
        ArgumentNullException.ThrowIfNull(batchId);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes("serverless-batch:" + batchId), hash);
        return new ActivityContext(ActivityTraceId.CreateFromBytes(hash[..16]), ActivitySpanId.CreateFromBytes(hash.Slice(16, 8)), ActivityTraceFlags.Recorded);
    }

    /// <summary>A span of a batch's activity (validate, chunk, finalize): a child of the batch's orchestration span, linked to the runtime's own span.</summary>
    public static Activity? StartBatchActivity(string name, string batchId)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = Activity.Current is { } runtime ? new[] { new ActivityLink(runtime.Context) } : null;
        var activity = Source.StartActivity(name, ActivityKind.Internal, BatchContext(batchId), links: links);
        activity?.SetTag(TelemetryAttributes.BatchId, batchId);
        return activity;
    }

    /// <summary>
    /// The span of a whole batch, from its creation to now, with the span id its activities name as their parent
    /// (<see cref="BatchContext"/>). Recorded once, when the batch ends.
    /// </summary>
    public static Activity? RecordBatchOrchestration(string batchId, DateTimeOffset createdAt, Action<Activity> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (!Source.HasListeners())
        {
            return null;
        }

        // A root span (no parent span) in the batch's own trace, with the span id its activities name as their parent.
        var context = BatchContext(batchId);
        var activity = Source.CreateActivity(Spans.BatchOrchestration, ActivityKind.Internal, new ActivityContext(context.TraceId, default, ActivityTraceFlags.Recorded));
        if (activity is null)
        {
            return null;
        }

        activity.SetStartTime(createdAt.UtcDateTime);
        activity.Start();
        SpanIdSetter.Set(activity, context.SpanId);
        activity.SetTag(TelemetryAttributes.BatchId, batchId);
        tag(activity);
        activity.Stop();
        return activity;
    }

    /// <summary>The span names of the service (README, Observability).</summary>
    public static class Spans
    {
        /// <summary>A live request waiting for a generation slot (or a batch line waiting for one).</summary>
        public const string QueueWait = "queue wait";

        /// <summary>Downloading and loading a model on this instance, under the request that caused it.</summary>
        public const string ModelLoad = "model load";

        /// <summary>Turning the prompt into token ids (including the wait for a tokenizer slot).</summary>
        public const string Tokenize = "tokenize";

        /// <summary>The prompt fed to the model (the prefill) and the constrained-decoding grammar compiled.</summary>
        public const string PromptProcessing = "prompt processing";

        /// <summary>The token loop, from the first generated token to the last.</summary>
        public const string Generation = "generation";

        public const string LedgerAdmit = "ledger admit";

        public const string LedgerSettle = "ledger settle";

        /// <summary>A whole batch, from its creation to its final status (root of the batch's trace).</summary>
        public const string BatchOrchestration = "batch orchestration";

        public const string BatchValidate = "batch validate";

        /// <summary>One chunk activity; its lines are its children (<c>chat {model}</c> spans).</summary>
        public const string BatchChunk = "batch chunk";

        public const string BatchFinalize = "batch finalize";

        public const string BatchFail = "batch fail";
    }

    // Activity has no public way to choose its own span id; the Functions worker and Durable Task set the same field
    // to continue a span across processes. Without the field (a future runtime) the span keeps its random id and the
    // link to the batch context still connects it.
    private static class SpanIdSetter
    {
        private static readonly FieldInfo? SpanIdField = typeof(Activity).GetField("_spanId", BindingFlags.NonPublic | BindingFlags.Instance);
        private static readonly FieldInfo? IdField = typeof(Activity).GetField("_id", BindingFlags.NonPublic | BindingFlags.Instance);

        public static void Set(Activity activity, ActivitySpanId spanId)
        {
            if (SpanIdField is null || IdField is null || activity.IdFormat != ActivityIdFormat.W3C)
            {
                activity.AddLink(new ActivityLink(new ActivityContext(activity.TraceId, spanId, ActivityTraceFlags.Recorded)));
                return;
            }

            SpanIdField.SetValue(activity, spanId.ToHexString());
            IdField.SetValue(activity, $"00-{activity.TraceId.ToHexString()}-{spanId.ToHexString()}-{(activity.Recorded ? "01" : "00")}");
        }
    }
}
