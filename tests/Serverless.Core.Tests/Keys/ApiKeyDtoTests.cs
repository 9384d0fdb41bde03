using System.Text.Json;
using Serverless.Core.Keys;

namespace Serverless.Core.Tests.Keys;

public sealed class ApiKeyDtoTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_768_478_400);

    [Fact]
    public void Create_request_reads_snake_case_json()
    {
        var request = JsonSerializer.Deserialize<CreateApiKeyRequest>(
            """{"customer":"acme","name":"ci","models":["tiny-llama"],"expires_at":1768478400}""");

        Assert.NotNull(request);
        Assert.Equal("acme", request.Customer);
        Assert.Equal("ci", request.Name);
        Assert.Equal(["tiny-llama"], request.Models);
        Assert.Equal(Created, request.ExpiresAtTime);
    }

    [Fact]
    public void Create_request_needs_only_a_customer()
    {
        var request = JsonSerializer.Deserialize<CreateApiKeyRequest>("""{"customer":"acme"}""");

        Assert.NotNull(request);
        Assert.Null(request.Name);
        Assert.Null(request.Models);
        Assert.Null(request.ExpiresAtTime);
    }

    [Fact]
    public void Key_responses_are_snake_case_with_unix_seconds()
    {
        var info = new ApiKeyInfo("7d2kq9mx4hta", "acme", "ci", "sk-svl-7d2kq9mx4hta-...u2Q9", [], ["inference", "keys.manage"], ApiKeyStatus.Revoked,
            Created, null, Created.AddHours(1), null);

        var json = JsonSerializer.Serialize(CreateApiKeyResponse.From(new CreatedApiKey("sk-svl-full-key", info)));
        var list = JsonSerializer.Serialize(ApiKeyListResponse.From([info]));
        var revoke = JsonSerializer.Serialize(new RevokeApiKeyResponse("7d2kq9mx4hta"));

        Assert.Equal(
            """{"key":"sk-svl-full-key","api_key":{"id":"7d2kq9mx4hta","customer":"acme","name":"ci","redacted_value":"sk-svl-7d2kq9mx4hta-...u2Q9","models":[],"permissions":["inference","keys.manage"],"status":"revoked","created_at":1768478400,"expires_at":null,"revoked_at":1768482000,"last_used_at":null,"object":"api_key"}}""",
            json);
        Assert.StartsWith("""{"data":[{"id":"7d2kq9mx4hta",""", list, StringComparison.Ordinal);
        Assert.EndsWith("""],"object":"list"}""", list, StringComparison.Ordinal);
        Assert.Equal("""{"id":"7d2kq9mx4hta","revoked":true,"object":"api_key"}""", revoke);
    }

    [Fact]
    public void Dtos_round_trip_for_a_client_such_as_the_admin_cli()
    {
        var request = new CreateApiKeyRequest("acme", "ci", ["tiny-llama"], 1_768_478_400, ["inference", "batches"]);
        var info = new ApiKeyInfo("7d2kq9mx4hta", "acme", "ci", "sk-svl-7d2kq9mx4hta-...u2Q9", ["tiny-llama"], ["inference"],
            ApiKeyStatus.Active, Created, Created.AddDays(1), null, Created);
        var response = CreateApiKeyResponse.From(new CreatedApiKey("sk-svl-full-key", info));

        var requestJson = JsonSerializer.Serialize(request);
        var readBack = JsonSerializer.Deserialize<CreateApiKeyResponse>(JsonSerializer.Serialize(response));

        Assert.Equal("""{"customer":"acme","name":"ci","models":["tiny-llama"],"expires_at":1768478400,"permissions":["inference","batches"]}""", requestJson);
        Assert.NotNull(readBack);
        Assert.Equal("sk-svl-full-key", readBack.Key);
        Assert.Equal(response.ApiKey with { Models = readBack.ApiKey.Models, Permissions = readBack.ApiKey.Permissions }, readBack.ApiKey);
        Assert.Equal(["inference"], readBack.ApiKey.Permissions);
        Assert.Equal(["tiny-llama"], readBack.ApiKey.Models);
    }

    [Fact]
    public void Create_response_does_not_print_the_key()
    {
        var info = new ApiKeyInfo("7d2kq9mx4hta", "acme", "ci", "sk-svl-7d2kq9mx4hta-...u2Q9", [], ["inference"], ApiKeyStatus.Active,
            Created, null, null, null);

        var text = CreateApiKeyResponse.From(new CreatedApiKey("sk-svl-full-key", info)).ToString();

        Assert.DoesNotContain("sk-svl-full-key", text, StringComparison.Ordinal);
        Assert.Contains("sk-svl-7d2kq9mx4hta-...u2Q9", text, StringComparison.Ordinal);
    }
}
