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

/// <param name="OldestOutboxAgeSeconds">How long the oldest usage record not yet in a meter event has waited (export lag).</param>
/// <param name="OldestPendingAgeSeconds">How long the oldest meter event not yet accepted by Stripe has waited.</param>
public sealed record ExportOverview(
    bool StripeConfigured, long OutboxRecords, double? OldestOutboxAgeSeconds, long PendingEvents, long PendingTokens, double? OldestPendingAgeSeconds,
    long DeadLetters, long DeadLetterTokens);

public sealed record ReconciliationOverview(long Id, long RanAt, int Differences);

/// <param name="Start">Midnight UTC today (Unix seconds).</param>
public sealed record TodayOverview(long Start, IReadOnlyList<CustomerToday> Customers, long Requests, long InputTokens, long OutputTokens, long RevenueMicroUsd);

public sealed record CustomerToday(string Customer, long Requests, long InputTokens, long OutputTokens, long RevenueMicroUsd);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OverviewObject))]
public sealed partial class OperationsJsonContext : JsonSerializerContext;
