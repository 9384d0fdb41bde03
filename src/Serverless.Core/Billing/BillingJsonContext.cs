using System.Text.Json.Serialization;

namespace Serverless.Core.Billing;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(CustomerObject))]
[JsonSerializable(typeof(BucketList))]
[JsonSerializable(typeof(BillingStatusObject))]
[JsonSerializable(typeof(ReconciliationObject))]
[JsonSerializable(typeof(ExportPassResult))]
[JsonSerializable(typeof(MeterErrorList))]
internal sealed partial class BillingJsonContext : JsonSerializerContext;
