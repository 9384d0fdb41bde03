using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Dashboard;
using Serverless.Core.Keys;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>
/// Key permissions over HTTP: each route family refuses a key without its permission, and a dashboard session can do
/// no more than the key it was opened with (the escalation the audit found: a narrow key minting a broad one).
/// </summary>
[Collection(ServiceTestGroup.Name)]
public sealed class PermissionsTests(ServiceFixture service)
{
    private const string Chat = """{"model":"demo","messages":[{"role":"user","content":"hi"}],"max_tokens":1}""";

    [Fact]
    public async Task Each_route_family_refuses_a_key_without_its_permission_with_an_openai_403()
    {
        string inferenceOnly = await AdminCreateKeyAsync("perm-routes", """["inference"]""");
        string batchesOnly = await AdminCreateKeyAsync("perm-routes", """["batches"]""");
        string usageOnly = await AdminCreateKeyAsync("perm-routes", """["usage.read"]""");

        var refused = new (string Key, HttpMethod Method, string Path, string? Body, string Permission)[]
        {
            (batchesOnly, HttpMethod.Post, "/v1/chat/completions", Chat, "inference"),
            (batchesOnly, HttpMethod.Post, "/v1/completions", """{"model":"demo","prompt":"hi","max_tokens":1}""", "inference"),
            (usageOnly, HttpMethod.Get, "/v1/models", null, "inference"),
            (usageOnly, HttpMethod.Get, "/v1/models/demo", null, "inference"),
            (inferenceOnly, HttpMethod.Get, "/v1/files", null, "batches"),
            (inferenceOnly, HttpMethod.Get, "/v1/files/file-abc/content", null, "batches"),
            (inferenceOnly, HttpMethod.Get, "/v1/batches", null, "batches"),
            (inferenceOnly, HttpMethod.Post, "/v1/batches", """{"input_file_id":"file-abc","endpoint":"/v1/chat/completions","completion_window":"24h"}""", "batches"),
            // A batch's lines are completions: batches alone cannot reach inference through one.
            (batchesOnly, HttpMethod.Post, "/v1/batches", """{"input_file_id":"file-abc","endpoint":"/v1/chat/completions","completion_window":"24h"}""", "inference"),
            (inferenceOnly, HttpMethod.Get, "/v1/usage", null, "usage.read"),
            (batchesOnly, HttpMethod.Get, "/v1/usage/receipt_secret", null, "usage.read"),
        };
        foreach (var (key, method, path, body, permission) in refused)
        {
            using var client = service.CreateClient(key);
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : ApiResponses.Json(body) };
            using var response = await client.SendAsync(request);
            var error = await response.ReadErrorAsync(403);
            Assert.Equal("permission_error", error.GetProperty("type").GetString());
            Assert.Equal("insufficient_permissions", error.GetProperty("code").GetString());
            Assert.Contains($"Missing permission: {permission}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // The controls: each key does what its permission allows.
        foreach (var (key, path) in new[] { (inferenceOnly, "/v1/models"), (batchesOnly, "/v1/files"), (batchesOnly, "/v1/batches"), (usageOnly, "/v1/usage") })
        {
            using var client = service.CreateClient(key);
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task Admin_api_sets_and_lists_permissions_and_refuses_unknown_names()
    {
        using var admin = service.CreateClient(service.AdminKey);
        using var plain = await admin.PostJsonAsync("/v1/admin/keys", """{"customer":"perm-admin","name":"plain"}""");
        using var manager = await admin.PostJsonAsync("/v1/admin/keys", """{"customer":"perm-admin","name":"manager","permissions":["keys.manage","inference"]}""");
        using var unknown = await admin.PostJsonAsync("/v1/admin/keys", """{"customer":"perm-admin","name":"bad","permissions":["inference","root"]}""");

        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        Assert.Equal(["inference", "batches", "usage.read"], Permissions((await plain.ReadJsonAsync()).GetProperty("api_key")));
        Assert.Equal(HttpStatusCode.Created, manager.StatusCode);
        Assert.Equal(["inference", "keys.manage"], Permissions((await manager.ReadJsonAsync()).GetProperty("api_key")));
        var error = await unknown.ReadErrorAsync(400);
        Assert.Equal("permissions", error.GetProperty("param").GetString());
        Assert.Contains("'root'", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var list = await admin.GetAsync("/v1/admin/keys?customer=perm-admin");
        var listed = (await list.ReadJsonAsync()).GetProperty("data").EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!, Permissions);
        Assert.Equal(["manager", "plain"], listed.Keys.Order());
        Assert.Equal(["inference", "keys.manage"], listed["manager"]);
    }

    [Fact]
    public async Task Admin_cli_creates_keys_with_permissions_lists_them_and_refuses_unknown_names()
    {
        await using var cli = new LocalHostProcess(service.Settings);

        var created = await cli.RunCommandAsync("keys", "create", "--customer", "perm-cli", "--name", "cli", "--permissions", "inference,batches");
        var unknown = await cli.RunCommandAsync("keys", "create", "--customer", "perm-cli", "--permissions", "inference,root");
        var list = await cli.RunCommandAsync("keys", "list", "--customer", "perm-cli");

        Assert.True(created.ExitCode == 0, created.Output);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("--permissions", unknown.Output, StringComparison.Ordinal);
        Assert.Contains("'root'", unknown.Output, StringComparison.Ordinal);
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains("PERMISSIONS", list.Output, StringComparison.Ordinal);
        Assert.Contains(" inference,batches ", list.Output, StringComparison.Ordinal);
        var key = Assert.Single(await service.Services.GetRequiredService<ApiKeyService>().ListAsync("perm-cli", CancellationToken.None));
        Assert.Equal(["inference", "batches"], key.Permissions);
    }

    [Fact]
    public async Task A_scoped_short_lived_key_without_keys_manage_cannot_create_or_revoke_keys_from_the_dashboard()
    {
        var keys = service.Services.GetRequiredService<ApiKeyService>();
        var broad = await keys.CreateAsync("perm-escalate", "broad", null, null, CancellationToken.None);
        var narrow = await keys.CreateAsync("perm-escalate", "narrow", ["demo"], DateTimeOffset.UtcNow.AddMinutes(2), CancellationToken.None);
        using var session = await DashboardSession.SignInAsync(service, narrow.Key);

        using var create = await session.SendAsync(HttpMethod.Post, "/dashboard/api/keys", """{"name":"x"}""");
        using var revoke = await session.SendAsync(HttpMethod.Delete, $"/dashboard/api/keys/{broad.Info.KeyId}");

        foreach (var response in new[] { create, revoke })
        {
            var error = await response.ReadErrorAsync(403);
            Assert.Equal("insufficient_permissions", error.GetProperty("code").GetString());
            Assert.Contains("keys.manage", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var after = await keys.ListAsync("perm-escalate", CancellationToken.None);
        Assert.Equal(2, after.Count);
        Assert.All(after, k => Assert.Equal(ApiKeyStatus.Active, k.Status));
    }

    [Fact]
    public async Task A_dashboard_session_creates_and_revokes_only_keys_no_broader_than_its_own()
    {
        var keys = service.Services.GetRequiredService<ApiKeyService>();
        var broad = await keys.CreateAsync("perm-bound", "broad", null, null, ApiKeyPermissions.All, CancellationToken.None);
        var expiry = DateTimeOffset.UtcNow.AddMinutes(2);
        var narrow = await keys.CreateAsync("perm-bound", "narrow", ["demo"], expiry, ["inference", "keys.manage"], CancellationToken.None);
        using var session = await DashboardSession.SignInAsync(service, narrow.Key);
        Assert.Equal(["inference", "keys.manage"], Permissions(session.Session));
        Assert.Equal(expiry.ToUnixTimeSeconds(), session.Session.GetProperty("key_expires_at").GetInt64());

        // Every broader ask is refused with its own code.
        foreach (var (body, code) in new[]
        {
            ("""{"name":"x","models":["local-demo"]}""", "key_models_exceeded"),
            ("""{"name":"x","permissions":["inference","batches"]}""", "key_permissions_exceeded"),
            ("""{"name":"x","expires_in_days":1}""", "key_expiry_exceeded"),
        })
        {
            using var refused = await session.SendAsync(HttpMethod.Post, "/dashboard/api/keys", body);
            Assert.Equal(code, (await refused.ReadErrorAsync(403)).GetProperty("code").GetString());
        }

        // What the audit's request now makes: a key bound like the session's key, not one with every model and no expiry.
        using var created = await session.SendAsync(HttpMethod.Post, "/dashboard/api/keys", """{"name":"x"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var json = await created.ReadJsonAsync();
        var info = json.GetProperty("info");
        Assert.Equal(["demo"], info.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(["inference"], Permissions(info));
        Assert.Equal(expiry.ToUnixTimeSeconds(), info.GetProperty("expires_at").GetInt64());
        using (var api = service.CreateClient(json.GetProperty("key").GetString()))
        {
            using var otherModel = await api.PostJsonAsync("/v1/chat/completions", Chat.Replace("\"demo\"", "\"local-demo\"", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.Forbidden, otherModel.StatusCode); // outside the key's model scope
            using var usage = await api.GetAsync("/v1/usage");
            Assert.Equal(HttpStatusCode.Forbidden, usage.StatusCode);
        }

        using var revokeBroad = await session.SendAsync(HttpMethod.Delete, $"/dashboard/api/keys/{broad.Info.KeyId}");
        Assert.Equal("key_broader_than_session", (await revokeBroad.ReadErrorAsync(403)).GetProperty("code").GetString());
        Assert.Equal(ApiKeyStatus.Active, (await keys.GetAsync(broad.Info.KeyId, CancellationToken.None))!.Status);
        using var revokeNarrower = await session.SendAsync(HttpMethod.Delete, $"/dashboard/api/keys/{info.GetProperty("id").GetString()}");
        Assert.Equal(HttpStatusCode.OK, revokeNarrower.StatusCode);
    }

    [Fact]
    public async Task A_dashboard_session_checks_the_keys_permission_on_batch_routes_too()
    {
        var key = await service.Services.GetRequiredService<ApiKeyService>().CreateAsync("perm-batches", "inference", null, null, ["inference"], CancellationToken.None);
        using var session = await DashboardSession.SignInAsync(service, key.Key);

        using var cancel = await session.SendAsync(HttpMethod.Post, "/dashboard/api/batches/batch_abc/cancel");
        using var content = await session.SendAsync(HttpMethod.Get, "/dashboard/api/files/file-abc/content");

        Assert.Equal("insufficient_permissions", (await cancel.ReadErrorAsync(403)).GetProperty("code").GetString());
        Assert.Equal("insufficient_permissions", (await content.ReadErrorAsync(403)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_dashboard_session_reads_usage_billing_batches_and_other_keys_only_with_its_keys_permissions()
    {
        var keys = service.Services.GetRequiredService<ApiKeyService>();
        var inferenceOnly = await keys.CreateAsync("perm-read", "inference only", null, null, ["inference"], CancellationToken.None);
        var reader = await keys.CreateAsync("perm-read", "reader", null, null, ApiKeyPermissions.Default, CancellationToken.None);
        var manager = await keys.CreateAsync("perm-read", "manager", null, null, ["inference", "keys.manage"], CancellationToken.None);
        string[] usagePaths = ["/dashboard/api/overview", "/dashboard/api/chart?width=600", "/dashboard/api/requests?limit=5", "/dashboard/api/billing"];

        // As GET /v1/usage and /v1/batches refuse such a key, so does the dashboard its session.
        using (var session = await DashboardSession.SignInAsync(service, inferenceOnly.Key))
        {
            foreach (var (path, permission) in usagePaths.Select(p => (p, "usage.read")).Append(("/dashboard/api/batches?limit=5", "batches")))
            {
                using var refused = await session.SendAsync(HttpMethod.Get, path);
                var error = await refused.ReadErrorAsync(403);
                Assert.Equal("insufficient_permissions", error.GetProperty("code").GetString());
                Assert.Contains($"Missing permission: {permission}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            Assert.Equal([(inferenceOnly.Info.KeyId, true)], await ListedKeysAsync(session));
        }

        // The controls: usage.read and batches open those sections; the key list stays the session's own key without keys.manage.
        using (var session = await DashboardSession.SignInAsync(service, reader.Key))
        {
            foreach (string path in usagePaths.Append("/dashboard/api/batches?limit=5"))
            {
                using var read = await session.SendAsync(HttpMethod.Get, path);
                Assert.True(read.StatusCode == HttpStatusCode.OK, $"{path}: {(int)read.StatusCode}");
            }

            Assert.Equal([(reader.Info.KeyId, true)], await ListedKeysAsync(session));
        }

        using (var session = await DashboardSession.SignInAsync(service, manager.Key))
        {
            var listed = await ListedKeysAsync(session);
            Assert.Equal(
                new[] { inferenceOnly.Info.KeyId, reader.Info.KeyId, manager.Info.KeyId }.Order(StringComparer.Ordinal),
                listed.Select(k => k.Id).Order(StringComparer.Ordinal));
            Assert.Equal([manager.Info.KeyId], listed.Where(k => k.Current).Select(k => k.Id));
        }
    }

    private static async Task<List<(string Id, bool Current)>> ListedKeysAsync(DashboardSession session)
    {
        using var response = await session.SendAsync(HttpMethod.Get, "/dashboard/api/keys");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.ReadJsonAsync()).GetProperty("data").EnumerateArray()
            .Select(k => (k.GetProperty("id").GetString()!, k.GetProperty("current").GetBoolean()))];
    }

    [Fact]
    public async Task A_sign_in_link_session_may_create_a_key_with_every_permission()
    {
        await service.Services.GetRequiredService<ApiKeyService>().EnsureCustomerAsync("perm-link", CancellationToken.None);
        using var session = await DashboardSession.SignInWithLinkAsync(service, "perm-link");
        Assert.Equal(ApiKeyPermissions.All, Permissions(session.Session));

        using var created = await session.SendAsync(HttpMethod.Post, "/dashboard/api/keys", """{"name":"owner","permissions":["inference","batches","usage.read","keys.manage"]}""");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var info = (await created.ReadJsonAsync()).GetProperty("info");
        Assert.Equal(ApiKeyPermissions.All, Permissions(info));
        Assert.Empty(info.GetProperty("models").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, info.GetProperty("expires_at").ValueKind);
    }

    [Fact]
    public async Task Sessions_of_a_disabled_customer_end_at_their_next_call()
    {
        var keys = service.Services.GetRequiredService<ApiKeyService>();
        var key = await keys.CreateAsync("perm-disabled", "owner", null, null, ApiKeyPermissions.All, CancellationToken.None);
        using var keySession = await DashboardSession.SignInAsync(service, key.Key);
        using var linkSession = await DashboardSession.SignInWithLinkAsync(service, "perm-disabled");
        foreach (var session in new[] { keySession, linkSession })
        {
            using var before = await session.SendAsync(HttpMethod.Get, "/dashboard/api/keys");
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await keys.SetCustomerDisabledAsync("perm-disabled", disabled: true, CancellationToken.None);
        try
        {
            foreach (var session in new[] { keySession, linkSession })
            {
                using var list = await session.SendAsync(HttpMethod.Get, "/dashboard/api/keys");
                using var create = await session.SendAsync(HttpMethod.Post, "/dashboard/api/keys", """{"name":"after"}""");
                using var state = await session.SendAsync(HttpMethod.Get, "/dashboard/api/session");
                Assert.Equal("invalid_api_key", (await list.ReadErrorAsync(401)).GetProperty("code").GetString());
                Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
                Assert.False((await state.ReadJsonAsync()).GetProperty("signed_in").GetBoolean());
            }

            Assert.Single(await keys.ListAsync("perm-disabled", CancellationToken.None));
        }
        finally
        {
            await keys.SetCustomerDisabledAsync("perm-disabled", disabled: false, CancellationToken.None);
        }
    }

    private static IReadOnlyList<string> Permissions(JsonElement element) =>
        [.. element.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()!)];

    private async Task<string> AdminCreateKeyAsync(string customer, string permissionsJson)
    {
        using var admin = service.CreateClient(service.AdminKey);
        using var response = await admin.PostJsonAsync("/v1/admin/keys", $$"""{"customer":"{{customer}}","permissions":{{permissionsJson}}}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("key").GetString()!;
    }

    /// <summary>A dashboard session over plain HTTP: the cookie the sign-in set and the CSRF token it answered.</summary>
    private sealed class DashboardSession(HttpClient client, string cookie, JsonElement session) : IDisposable
    {
        public JsonElement Session { get; } = session;

        public static Task<DashboardSession> SignInAsync(ServiceFixture service, string apiKey) =>
            StartAsync(service, "/dashboard/api/session", JsonSerializer.Serialize(new { api_key = apiKey }));

        public static Task<DashboardSession> SignInWithLinkAsync(ServiceFixture service, string customer)
        {
            string token = service.Services.GetRequiredService<DashboardTokens>().CreateLink(customer, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
            return StartAsync(service, "/dashboard/api/session/link", JsonSerializer.Serialize(new { token }));
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : ApiResponses.Json(body) };
            request.Headers.Add("Cookie", $"{DashboardSessions.CookieName}={cookie}");
            request.Headers.Add(DashboardSessions.CsrfHeader, Session.GetProperty("csrf_token").GetString());
            return await client.SendAsync(request);
        }

        public void Dispose() => client.Dispose();

        private static async Task<DashboardSession> StartAsync(ServiceFixture service, string path, string body)
        {
            var client = service.CreateClient();
            client.DefaultRequestHeaders.Authorization = null;
            using var response = await client.PostJsonAsync(path, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string setCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(DashboardSessions.CookieName + "=", StringComparison.Ordinal));
            string cookie = setCookie[(DashboardSessions.CookieName.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)];
            return new DashboardSession(client, cookie, await response.ReadJsonAsync());
        }
    }
}
