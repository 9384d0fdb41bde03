namespace Serverless.Core.Telemetry;

/// <summary>
/// Attribute names of spans and metrics: the OpenTelemetry semantic conventions where they have one (GenAI, HTTP,
/// error.type), <c>serverless.*</c> for the service's own. Never the API key itself, nor prompt or completion text.
/// </summary>
public static class TelemetryAttributes
{
    // GenAI semantic conventions.
    public const string OperationName = "gen_ai.operation.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string RequestMaxTokens = "gen_ai.request.max_tokens";
    public const string UsageInputTokens = "gen_ai.usage.input_tokens";
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
    public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
    public const string ResponseId = "gen_ai.response.id";
    public const string TokenType = "gen_ai.token.type";

    // HTTP and general semantic conventions.
    public const string ErrorType = "error.type";
    public const string HttpMethod = "http.request.method";
    public const string HttpRoute = "http.route";
    public const string HttpStatusCode = "http.response.status_code";
    public const string ServerAddress = "server.address";

    // The service's own.
    public const string RequestId = "serverless.request.id";
    public const string CustomerId = "serverless.customer.id";
    public const string KeyId = "serverless.key.id";

    /// <summary>How the ledger recorded the request (completed, length, client_disconnected, failed_after_start, rejected).</summary>
    public const string Outcome = "serverless.outcome";

    /// <summary><c>live</c> (an API request) or <c>batch</c> (a line of a batch).</summary>
    public const string RequestType = "serverless.request.type";

    public const string BatchId = "serverless.batch.id";
    public const string BatchChunk = "serverless.batch.chunk";
    public const string BatchStatus = "serverless.batch.status";
    public const string BatchLineOutcome = "serverless.batch.line.outcome";
    public const string StripeOperation = "serverless.stripe.operation";
    public const string StripeOutcome = "serverless.stripe.outcome";
    public const string WebhookEventType = "serverless.webhook.event_type";
    public const string WebhookOutcome = "serverless.webhook.outcome";
    public const string BatchEndpoint = "serverless.batch.endpoint";
    public const string BatchChunks = "serverless.batch.chunks";
    public const string BatchLinesTotal = "serverless.batch.lines.total";
    public const string BatchLinesCompleted = "serverless.batch.lines.completed";
    public const string BatchLinesFailed = "serverless.batch.lines.failed";

    /// <summary>Why a chunk stopped early (cancelled, expired); absent when it ran all its lines.</summary>
    public const string BatchStopped = "serverless.batch.stopped";

    /// <summary>The ledger's answer to an admission (Admitted, RateLimited, InsufficientQuota, IdempotencyReplay, ...).</summary>
    public const string LedgerAdmission = "serverless.ledger.admission";

    public const string Live = "live";
    public const string Batch = "batch";
}
