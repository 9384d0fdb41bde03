using System.Text.Json.Serialization;

namespace Serverless.Core.Dashboard;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SessionObject))]
[JsonSerializable(typeof(SignInRequest))]
[JsonSerializable(typeof(LinkSignInRequest))]
[JsonSerializable(typeof(OverviewObject))]
[JsonSerializable(typeof(RequestPage))]
[JsonSerializable(typeof(DashboardKeyList))]
[JsonSerializable(typeof(CreateDashboardKeyRequest))]
[JsonSerializable(typeof(CreatedDashboardKey))]
[JsonSerializable(typeof(DashboardKeyObject))]
[JsonSerializable(typeof(Billing.CustomerBillingObject))]
[JsonSerializable(typeof(DashboardBatchPage))]
[JsonSerializable(typeof(DashboardBatchObject))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
