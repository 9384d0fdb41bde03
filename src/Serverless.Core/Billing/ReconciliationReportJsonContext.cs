using System.Text.Json.Serialization;

namespace Serverless.Core.Billing;

/// <summary>The stored form of a reconciliation run's lines (<see cref="ReconciliationRun.Report"/>): written by the reconciler, read by the dashboard.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(List<ReconciliationLine>))]
internal sealed partial class ReconciliationReportJsonContext : JsonSerializerContext;
