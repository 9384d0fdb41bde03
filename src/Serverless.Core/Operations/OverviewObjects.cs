using System.Text.Json.Serialization;

namespace Serverless.Core.Operations;

/// <summary>GET /v1/admin/overview.</summary>
public sealed record OverviewObject(
    long GeneratedAt, IReadOnlyList<InstanceOverview> Instances, ExportOverview Export, ReconciliationOverview? LastReconciliation, TodayOverview Today)
{
    public string Object => "admin.overview";
}

/// <param name="Alive">Heard from within <c>Metering:DeadInstanceAfter</c>.</param>
/// <param name="ModelsLoaded">Models in memory at its last heartbeat (null: it did not say).</param>
/// <param name="Queued">Live requests and batch lines waiting for a slot at its last heartbeat.</param>
public sealed record InstanceOverview(
    string Id, string Machine, long StartedAt, long LastSeenAt, double HeartbeatAgeSeconds, bool Alive,
    IReadOnlyList<string>? ModelsLoaded, int? SlotsInUse, int? Slots, int? Queued);

/// <param name="RecordsWaiting">Usage records Stripe has not accepted yet: in the outbox or in pending meter events.</param>
/// <param name="ExportLagSeconds">How long the oldest of them has waited (null: none waits).</param>
/// <param name="OutboxRecords">Those not yet in a meter event.</param>
/// <param name="PendingEvents">Meter events not yet accepted (being sent or retried).</param>
public sealed record ExportOverview(
    bool StripeConfigured, long RecordsWaiting, double? ExportLagSeconds, long OutboxRecords, long PendingEvents, long PendingTokens,
    long DeadLetters, long DeadLetterTokens);

public sealed record ReconciliationOverview(long Id, long RanAt, int Differences);

/// <param name="Start">Midnight UTC today (Unix seconds).</param>
public sealed record TodayOverview(long Start, IReadOnlyList<CustomerToday> Customers, long Requests, long InputTokens, long OutputTokens, long RevenueMicroUsd);

public sealed record CustomerToday(string Customer, long Requests, long InputTokens, long OutputTokens, long RevenueMicroUsd);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OverviewObject))]
public sealed partial class OperationsJsonContext : JsonSerializerContext;
