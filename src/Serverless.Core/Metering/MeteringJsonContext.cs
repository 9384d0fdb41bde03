using System.Text.Json.Serialization;

namespace Serverless.Core.Metering;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(UsageReport))]
[JsonSerializable(typeof(UsageRecordObject))]
[JsonSerializable(typeof(ReceiptSecretObject))]
[JsonSerializable(typeof(PriceObject))]
[JsonSerializable(typeof(PriceList))]
[JsonSerializable(typeof(SetPriceRequest))]
[JsonSerializable(typeof(LimitPolicyObject))]
internal sealed partial class MeteringJsonContext : JsonSerializerContext;
