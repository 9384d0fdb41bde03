using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Keys;

/// <summary>Runs on both providers: <see cref="Sqlite"/> and <see cref="Postgres"/>.</summary>
public abstract class ApiKeyServiceTests(string provider) : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = KeyServices.NewClock();
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Created_key_authenticates_as_its_customer_and_scope()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", ["tiny-llama"], null, default);

        var result = await services.Keys.AuthenticateAsync($"Bearer {created.Key}", default);

        Assert.True(result.Succeeded);
        Assert.Equal(created.Info.KeyId, result.Principal.KeyId);
        Assert.Equal("acme", result.Principal.CustomerId);
        Assert.Equal(["tiny-llama"], result.Principal.ModelScope);
        Assert.Equal(KeyAuthFailure.None, result.Failure);
        Assert.Null(result.ErrorMessage);
    }

    [Fact]
    public async Task Bearer_scheme_is_case_insensitive_and_tolerates_extra_spaces()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);

        Assert.True((await services.Keys.AuthenticateAsync($"bearer   {created.Key} ", default)).Succeeded);
    }

    [Fact]
    public async Task Mistyped_key_is_rejected_by_its_checksum_without_touching_the_database()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var key = (await services.Keys.CreateAsync("acme", "ci", null, null, default)).Key;
        var secretStart = key.Length - ApiKeyFormat.ChecksumLength - 1 - ApiKeyFormat.SecretLength;
        var typo = Replace(key, secretStart + 10, key[secretStart + 10] == 'a' ? 'b' : 'a');
        var swapped = Swap(key, secretStart + 20);
        var commandsBefore = services.Activity.Commands.Count;
        var opensBefore = services.Activity.ConnectionsOpened;

        var typoResult = await services.Keys.AuthenticateAsync($"Bearer {typo}", default);
        var swappedResult = await services.Keys.AuthenticateAsync($"Bearer {swapped}", default);

        Assert.Equal(KeyAuthFailure.BadChecksum, typoResult.Failure);
        Assert.Equal(KeyAuthFailure.BadChecksum, swappedResult.Failure);
        Assert.False(typoResult.Succeeded);
        Assert.Equal(commandsBefore, services.Activity.Commands.Count);
        Assert.Equal(opensBefore, services.Activity.ConnectionsOpened);
    }

    [Fact]
    public async Task Checksum_failures_never_reach_a_database_that_does_not_exist()
    {
        // Removing the database proves the same as counting commands, without trusting the counter:
        // any database access would throw.
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var key = (await services.Keys.CreateAsync("acme", "ci", null, null, default)).Key;
        await _database.DeleteAsync();

        var result = await services.Keys.AuthenticateAsync($"Bearer {Replace(key, key.Length - 1, key[^1] == 'x' ? 'y' : 'x')}", default);

        Assert.Equal(KeyAuthFailure.BadChecksum, result.Failure);
    }

    [Theory]
    [InlineData(null, KeyAuthFailure.Missing)]
    [InlineData("", KeyAuthFailure.Missing)]
    [InlineData("   ", KeyAuthFailure.Missing)]
    [InlineData("Bearer", KeyAuthFailure.Missing)]
    [InlineData("Bearer    ", KeyAuthFailure.Missing)]
    [InlineData("Basic dXNlcjpwYXNz", KeyAuthFailure.Malformed)]
    [InlineData("Bearersk-svl-abc", KeyAuthFailure.Malformed)]
    [InlineData("Bearer sk-svl-abc", KeyAuthFailure.Malformed)]
    [InlineData("Bearer sk-svl-abc def", KeyAuthFailure.Malformed)]
    [InlineData("Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123", KeyAuthFailure.Malformed)]
    public async Task Missing_or_malformed_credentials_are_rejected_without_touching_the_database(
        string? header, KeyAuthFailure expected)
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var commandsBefore = services.Activity.Commands.Count;
        var opensBefore = services.Activity.ConnectionsOpened;

        var result = await services.Keys.AuthenticateAsync(header, default);

        Assert.Equal(expected, result.Failure);
        Assert.NotNull(result.ErrorMessage);
        Assert.Equal(commandsBefore, services.Activity.Commands.Count);
        Assert.Equal(opensBefore, services.Activity.ConnectionsOpened);
    }

    [Fact]
    public async Task Key_with_a_wrong_character_in_its_prefix_or_id_is_malformed()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var key = (await services.Keys.CreateAsync("acme", "ci", null, null, default)).Key;

        Assert.Equal(KeyAuthFailure.Malformed, (await services.Keys.AuthenticateAsync($"Bearer SK{key[2..]}", default)).Failure);
        Assert.Equal(KeyAuthFailure.Malformed, (await services.Keys.AuthenticateAsync($"Bearer {Replace(key, 7, 'l')}", default)).Failure);
        Assert.Equal(KeyAuthFailure.Malformed, (await services.Keys.AuthenticateAsync($"Bearer {key}x", default)).Failure);
    }

    [Fact]
    public async Task Well_formed_key_that_was_never_issued_is_unknown()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        await services.Keys.CreateAsync("acme", "ci", null, null, default);
        var (neverIssued, _) = ApiKeyFormat.Generate("sk-svl");

        var result = await services.Keys.AuthenticateAsync($"Bearer {neverIssued}", default);

        Assert.Equal(KeyAuthFailure.Unknown, result.Failure);
        Assert.Equal("Incorrect API key provided.", result.ErrorMessage);
    }

    [Fact]
    public async Task Revoked_key_is_refused_on_the_next_request_of_the_same_instance()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);
        Assert.True((await services.Keys.AuthenticateAsync($"Bearer {created.Key}", default)).Succeeded);

        Assert.True(await services.Keys.RevokeAsync(created.Info.KeyId, default));
        var result = await services.Keys.AuthenticateAsync($"Bearer {created.Key}", default);

        Assert.Equal(KeyAuthFailure.Revoked, result.Failure);
    }

    [Fact]
    public async Task Revocation_on_another_instance_takes_effect_when_the_cache_entry_runs_out()
    {
        await using var first = await KeyServices.StartAsync(_database, _clock, cacheTtl: TimeSpan.FromSeconds(10));
        await using var second = await KeyServices.StartAsync(_database, _clock, cacheTtl: TimeSpan.FromSeconds(10));
        var created = await first.Keys.CreateAsync("acme", "ci", null, null, default);
        var header = $"Bearer {created.Key}";
        Assert.True((await first.Keys.AuthenticateAsync(header, default)).Succeeded);

        await second.Keys.RevokeAsync(created.Info.KeyId, default);

        Assert.True((await first.Keys.AuthenticateAsync(header, default)).Succeeded);
        Assert.Equal(KeyAuthFailure.Revoked, (await second.Keys.AuthenticateAsync(header, default)).Failure);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(KeyAuthFailure.Revoked, (await first.Keys.AuthenticateAsync(header, default)).Failure);
    }

    [Fact]
    public async Task Revoking_twice_keeps_the_first_time_and_unknown_ids_report_false()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);
        var firstRevocation = _clock.GetUtcNow();

        Assert.True(await services.Keys.RevokeAsync(created.Info.KeyId, default));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.True(await services.Keys.RevokeAsync(created.Info.KeyId, default));
        Assert.False(await services.Keys.RevokeAsync("0000nokey000", default));

        var listed = Assert.Single(await services.Keys.ListAsync("acme", default));
        Assert.Equal(ApiKeyStatus.Revoked, listed.Status);
        Assert.Equal(firstRevocation, listed.RevokedAt);
    }

    [Fact]
    public async Task Expired_key_is_refused_from_the_cache_and_from_the_database()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, _clock.GetUtcNow().AddHours(1), default);
        var header = $"Bearer {created.Key}";
        Assert.True((await services.Keys.AuthenticateAsync(header, default)).Succeeded);

        _clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(KeyAuthFailure.Expired, (await services.Keys.AuthenticateAsync(header, default)).Failure);
        await using var fresh = await KeyServices.StartAsync(_database, _clock);
        Assert.Equal(KeyAuthFailure.Expired, (await fresh.Keys.AuthenticateAsync(header, default)).Failure);
        Assert.Equal(ApiKeyStatus.Expired, Assert.Single(await fresh.Keys.ListAsync(null, default)).Status);
    }

    [Fact]
    public async Task Key_is_stored_only_as_an_hmac_under_the_server_secret()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);

        await using (var db = services.CreateDbContext())
        {
            var stored = await db.ApiKeys.SingleAsync();
            var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(KeyServices.DefaultSecret), Encoding.ASCII.GetBytes(created.Key));
            Assert.Equal(expected, stored.Hash);
        }

        var storedText = await _database.ReadStoredTextAsync();
        var secret = created.Key.Split('-')[^2];
        Assert.Contains(created.Info.KeyId, storedText, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, storedText, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Key, storedText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_is_unknown_under_a_different_hash_secret()
    {
        string key;
        await using (var original = await KeyServices.StartAsync(_database, _clock))
        {
            key = (await original.Keys.CreateAsync("acme", "ci", null, null, default)).Key;
        }

        await using var rotated = await KeyServices.StartAsync(_database, _clock, hashSecret: "another-secret-of-enough-length-0123456789");

        Assert.Equal(KeyAuthFailure.Unknown, (await rotated.Keys.AuthenticateAsync($"Bearer {key}", default)).Failure);
    }

    [Fact]
    public async Task Listing_is_masked_and_never_contains_the_secret()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var acme = await services.Keys.CreateAsync("acme", "ci", ["tiny-llama", "other"], null, default);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var globex = await services.Keys.CreateAsync("globex", "prod", null, null, default);

        var all = await services.Keys.ListAsync(null, default);
        var onlyAcme = await services.Keys.ListAsync("acme", default);

        Assert.Equal([acme.Info.KeyId, globex.Info.KeyId], all.Select(k => k.KeyId));
        var listed = Assert.Single(onlyAcme);
        Assert.Equal($"sk-svl-{acme.Info.KeyId}-...{acme.Key[^4..]}", listed.MaskedKey);
        Assert.Equal(["tiny-llama", "other"], listed.ModelScope);
        Assert.Equal(ApiKeyStatus.Active, listed.Status);
        Assert.Equal(acme.Info, listed with { ModelScope = acme.Info.ModelScope, Permissions = acme.Info.Permissions });
        foreach (var created in new[] { acme, globex })
        {
            var secret = created.Key.Split('-')[^2];
            Assert.DoesNotContain(all, k => k.ToString().Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Model_scope_allows_listed_models_only()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var scoped = await services.Keys.CreateAsync("acme", "scoped", [" tiny-llama ", "tiny-llama", "phi"], null, default);
        var unscoped = await services.Keys.CreateAsync("acme", "all", [], null, default);

        var scopedPrincipal = (await services.Keys.AuthenticateAsync($"Bearer {scoped.Key}", default)).Principal!;
        var unscopedPrincipal = (await services.Keys.AuthenticateAsync($"Bearer {unscoped.Key}", default)).Principal!;

        Assert.Equal(["tiny-llama", "phi"], scopedPrincipal.ModelScope);
        Assert.True(scopedPrincipal.CanUse("tiny-llama"));
        Assert.True(scopedPrincipal.CanUse("phi"));
        Assert.False(scopedPrincipal.CanUse("Tiny-Llama"));
        Assert.False(scopedPrincipal.CanUse("gpt-4o"));
        Assert.Empty(unscopedPrincipal.ModelScope);
        Assert.True(unscopedPrincipal.CanUse("gpt-4o"));
    }

    [Fact]
    public async Task Creating_keys_for_a_new_customer_creates_the_customer_once()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => services.Keys.CreateAsync("acme", $"key{i}", null, null, default)));

        await using var db = services.CreateDbContext();
        var customer = await db.Customers.SingleAsync();
        Assert.Equal("acme", customer.Id);
        Assert.Equal("acme", customer.Name);
        Assert.False(customer.Disabled);
        Assert.Equal(4, await db.ApiKeys.CountAsync(k => k.CustomerId == "acme"));
    }

    [Fact]
    public async Task Keys_of_a_disabled_customer_are_refused()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);
        await using (var db = services.CreateDbContext())
        {
            await db.Customers.Where(c => c.Id == "acme").ExecuteUpdateAsync(s => s.SetProperty(c => c.Disabled, true));
        }

        var result = await services.Keys.AuthenticateAsync($"Bearer {created.Key}", default);

        Assert.Equal(KeyAuthFailure.CustomerDisabled, result.Failure);
    }

    [Fact]
    public async Task Repeated_requests_are_verified_from_memory_until_the_cache_entry_runs_out()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock, cacheTtl: TimeSpan.FromSeconds(10));
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);
        var header = $"Bearer {created.Key}";
        Assert.True((await services.Keys.AuthenticateAsync(header, default)).Succeeded);
        var selectsAfterFirst = services.Activity.CountCommands("SELECT");

        for (var i = 0; i < 20; i++)
        {
            Assert.True((await services.Keys.AuthenticateAsync(header, default)).Succeeded);
        }

        Assert.Equal(selectsAfterFirst, services.Activity.CountCommands("SELECT"));
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await services.Keys.AuthenticateAsync(header, default)).Succeeded);
        Assert.Equal(selectsAfterFirst + 1, services.Activity.CountCommands("SELECT"));
    }

    [Fact]
    public async Task Last_use_is_written_at_most_once_a_minute()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock, cacheTtl: TimeSpan.FromSeconds(10));
        var created = await services.Keys.CreateAsync("acme", "ci", null, null, default);
        var header = $"Bearer {created.Key}";
        var firstUse = _clock.GetUtcNow();
        var updatesBefore = services.Activity.CountCommands("UPDATE"); // the migrations' own

        for (var second = 0; second < 59; second++)
        {
            Assert.True((await services.Keys.AuthenticateAsync(header, default)).Succeeded);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(updatesBefore + 1, services.Activity.CountCommands("UPDATE"));
        Assert.Equal(firstUse, Assert.Single(await services.Keys.ListAsync("acme", default)).LastUsedAt);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await services.Keys.AuthenticateAsync(header, default)).Succeeded);

        Assert.Equal(updatesBefore + 2, services.Activity.CountCommands("UPDATE"));
        Assert.Equal(firstUse.AddMinutes(1), Assert.Single(await services.Keys.ListAsync("acme", default)).LastUsedAt);
    }

    [Fact]
    public async Task Create_rejects_bad_customer_ids_past_expiry_and_bad_model_ids()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);

        await Assert.ThrowsAsync<ArgumentException>(() => services.Keys.CreateAsync("", "ci", null, null, default));
        await Assert.ThrowsAsync<ArgumentException>(() => services.Keys.CreateAsync("acme corp", "ci", null, null, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => services.Keys.CreateAsync("acme", "ci", null, _clock.GetUtcNow(), default));
        await Assert.ThrowsAsync<ArgumentException>(() => services.Keys.CreateAsync("acme", "ci", ["a,b"], null, default));
        await Assert.ThrowsAsync<ArgumentException>(() => services.Keys.CreateAsync("acme", new string('n', 101), null, null, default));
        Assert.Empty(await services.Keys.ListAsync(null, default));
    }

    [Fact]
    public async Task Created_key_is_shown_once_and_its_record_does_not_print_it()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var created = await services.Keys.CreateAsync("acme", "ci", null, _clock.GetUtcNow().AddDays(30), default);

        Assert.StartsWith("sk-svl-", created.Key, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Key, created.ToString(), StringComparison.Ordinal);
        Assert.Contains(created.Info.MaskedKey, created.ToString(), StringComparison.Ordinal);
        Assert.Equal(_clock.GetUtcNow(), created.Info.CreatedAt);
        Assert.Equal(_clock.GetUtcNow().AddDays(30), created.Info.ExpiresAt);
    }

    [Fact]
    public async Task New_keys_get_inference_batches_and_usage_read_and_keys_manage_only_when_asked()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var plain = await services.Keys.CreateAsync("acme", "plain", null, null, default);
        _clock.Advance(TimeSpan.FromSeconds(1)); // lists are oldest first
        var manager = await services.Keys.CreateAsync("acme", "manager", null, null, ["keys.manage", " inference", "inference"], default);

        Assert.Equal(["inference", "batches", "usage.read"], plain.Info.Permissions);
        Assert.Equal(["inference", "keys.manage"], manager.Info.Permissions);
        Assert.Equal([["inference", "batches", "usage.read"], ["inference", "keys.manage"]], (await services.Keys.ListAsync("acme", default)).Select(k => k.Permissions));
        var principal = (await services.Keys.AuthenticateAsync($"Bearer {manager.Key}", default)).Principal!;
        Assert.True(principal.Has(ApiKeyPermissions.KeysManage));
        Assert.False(principal.Has(ApiKeyPermissions.Batches));
    }

    [Fact]
    public async Task Unknown_or_no_permissions_are_refused_naming_the_param()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => services.Keys.CreateAsync("acme", "ci", null, null, ["inference", "admin"], default));
        var none = await Assert.ThrowsAsync<ArgumentException>(() => services.Keys.CreateAsync("acme", "ci", null, null, [], default));

        Assert.Equal("permissions", unknown.ParamName);
        Assert.Contains("'admin'", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("permissions", none.ParamName);
        Assert.Empty(await services.Keys.ListAsync(null, default));
    }

    [Fact]
    public async Task Session_caller_carries_its_keys_permissions_scope_and_expiry_and_ends_with_a_disabled_customer()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var expiry = _clock.GetUtcNow().AddMinutes(2);
        var key = await services.Keys.CreateAsync("acme", "ci", ["tiny-llama"], expiry, ["inference"], default);
        var other = await services.Keys.CreateAsync("globex", "ci", null, null, default);

        var caller = await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default);
        var link = await services.Keys.GetSessionCallerAsync("acme", null, default);

        Assert.NotNull(caller);
        Assert.Equal(["tiny-llama"], caller.ModelScope);
        Assert.Equal(["inference"], caller.Permissions);
        Assert.Equal(expiry, caller.ExpiresAt);
        Assert.NotNull(link);
        Assert.Equal(ApiKeyPermissions.All, link.Permissions);
        Assert.Empty(link.ModelScope);
        Assert.Null(link.ExpiresAt);
        Assert.Null(await services.Keys.GetSessionCallerAsync("acme", other.Info.KeyId, default));
        Assert.Null(await services.Keys.GetSessionCallerAsync("nobody", null, default));

        await services.Keys.SetCustomerDisabledAsync("acme", true, default);
        Assert.Null(await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default));
        Assert.Null(await services.Keys.GetSessionCallerAsync("acme", null, default));

        await services.Keys.SetCustomerDisabledAsync("acme", false, default);
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default));
    }

    [Fact]
    public async Task A_key_without_keys_manage_can_neither_create_nor_revoke_keys()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var key = await services.Keys.CreateAsync("acme", "ci", null, null, default);
        var grantor = (await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default))!;

        var create = await Assert.ThrowsAsync<KeyGrantDeniedException>(() => services.Keys.CreateWithinAsync(grantor, "x", null, null, null, default));
        var revoke = await Assert.ThrowsAsync<KeyGrantDeniedException>(() => services.Keys.RevokeWithinAsync(grantor, key.Info.KeyId, default));

        Assert.Equal("insufficient_permissions", create.Code);
        Assert.Contains("keys.manage", create.Message, StringComparison.Ordinal);
        Assert.Equal("insufficient_permissions", revoke.Code);
        Assert.Single(await services.Keys.ListAsync("acme", default), k => k.Status == ApiKeyStatus.Active);
    }

    [Fact]
    public async Task A_scoped_key_creates_keys_within_its_models_only()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var key = await services.Keys.CreateAsync("acme", "scoped", ["tiny-llama", "phi"], null, ApiKeyPermissions.All, default);
        var grantor = (await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default))!;

        var other = await Assert.ThrowsAsync<KeyGrantDeniedException>(() => services.Keys.CreateWithinAsync(grantor, "x", ["tiny-llama", "gpt-4o"], null, null, default));
        var inherited = await services.Keys.CreateWithinAsync(grantor, "inherits", null, null, null, default);
        var narrower = await services.Keys.CreateWithinAsync(grantor, "narrower", ["phi"], null, null, default);

        Assert.Equal("key_models_exceeded", other.Code);
        Assert.Equal("models", other.Param);
        Assert.Equal(["tiny-llama", "phi"], inherited.Info.ModelScope);
        Assert.Equal(["phi"], narrower.Info.ModelScope);
        Assert.Equal(3, (await services.Keys.ListAsync("acme", default)).Count);
    }

    [Fact]
    public async Task A_key_creates_keys_with_no_permission_it_lacks()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var key = await services.Keys.CreateAsync("acme", "ci", null, null, ["inference", "keys.manage"], default);
        var grantor = (await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default))!;

        var batches = await Assert.ThrowsAsync<KeyGrantDeniedException>(() => services.Keys.CreateWithinAsync(grantor, "x", null, null, ["inference", "batches"], default));
        var inherited = await services.Keys.CreateWithinAsync(grantor, "defaults", null, null, null, default);
        var manager = await services.Keys.CreateWithinAsync(grantor, "manager", null, null, ["keys.manage"], default);

        Assert.Equal("key_permissions_exceeded", batches.Code);
        Assert.Equal("permissions", batches.Param);
        Assert.Contains("'batches'", batches.Message, StringComparison.Ordinal);
        Assert.Equal(["inference"], inherited.Info.Permissions);
        Assert.Equal(["keys.manage"], manager.Info.Permissions);
    }

    [Fact]
    public async Task An_expiring_key_creates_keys_that_expire_no_later_than_itself()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var expiry = _clock.GetUtcNow().AddMinutes(2);
        var key = await services.Keys.CreateAsync("acme", "short", null, expiry, ApiKeyPermissions.All, default);
        var grantor = (await services.Keys.GetSessionCallerAsync("acme", key.Info.KeyId, default))!;

        var later = await Assert.ThrowsAsync<KeyGrantDeniedException>(() => services.Keys.CreateWithinAsync(grantor, "x", null, _clock.GetUtcNow().AddDays(1), null, default));
        var inherited = await services.Keys.CreateWithinAsync(grantor, "inherits", null, null, null, default);
        var sooner = await services.Keys.CreateWithinAsync(grantor, "sooner", null, _clock.GetUtcNow().AddMinutes(1), null, default);

        Assert.Equal("key_expiry_exceeded", later.Code);
        Assert.Equal(expiry, inherited.Info.ExpiresAt);
        Assert.Equal(_clock.GetUtcNow().AddMinutes(1), sooner.Info.ExpiresAt);
    }

    [Fact]
    public async Task A_full_customer_session_grants_anything_for_its_own_customer()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        await services.Keys.EnsureCustomerAsync("acme", default);
        var link = (await services.Keys.GetSessionCallerAsync("acme", null, default))!;

        var created = await services.Keys.CreateWithinAsync(link, "all", null, null, ApiKeyPermissions.All, default);
        var defaults = await services.Keys.CreateWithinAsync(link, "defaults", ["phi"], null, null, default);

        Assert.Equal("acme", created.Info.CustomerId);
        Assert.Equal(ApiKeyPermissions.All, created.Info.Permissions);
        Assert.Empty(created.Info.ModelScope);
        Assert.Null(created.Info.ExpiresAt);
        Assert.Equal(ApiKeyPermissions.Default, defaults.Info.Permissions);
    }

    [Fact]
    public async Task A_key_revokes_only_keys_of_its_customer_that_are_no_broader_than_itself()
    {
        await using var services = await KeyServices.StartAsync(_database, _clock);
        var bound = _clock.GetUtcNow().AddDays(1);
        var session = await services.Keys.CreateAsync("acme", "session", ["phi"], bound, ["inference", "keys.manage"], default);
        var allModels = await services.Keys.CreateAsync("acme", "all-models", null, bound.AddHours(-1), ["inference"], default);
        var morePermissions = await services.Keys.CreateAsync("acme", "batches", ["phi"], bound.AddHours(-1), ["inference", "batches"], default);
        var noExpiry = await services.Keys.CreateAsync("acme", "forever", ["phi"], null, ["inference"], default);
        var narrower = await services.Keys.CreateAsync("acme", "narrower", ["phi"], bound.AddHours(-1), ["inference"], default);
        var elsewhere = await services.Keys.CreateAsync("globex", "theirs", ["phi"], bound.AddHours(-1), ["inference"], default);
        var grantor = (await services.Keys.GetSessionCallerAsync("acme", session.Info.KeyId, default))!;

        foreach (var broader in new[] { allModels, morePermissions, noExpiry })
        {
            var denied = await Assert.ThrowsAsync<KeyGrantDeniedException>(() => services.Keys.RevokeWithinAsync(grantor, broader.Info.KeyId, default));
            Assert.Equal("key_broader_than_session", denied.Code);
        }

        var revoked = await services.Keys.RevokeWithinAsync(grantor, narrower.Info.KeyId, default);
        var notFound = await services.Keys.RevokeWithinAsync(grantor, elsewhere.Info.KeyId, default);

        Assert.Equal(ApiKeyStatus.Revoked, revoked?.Status);
        Assert.Null(notFound);
        var statuses = (await services.Keys.ListAsync(null, default)).ToDictionary(k => k.Name, k => k.Status);
        Assert.Equal(ApiKeyStatus.Active, statuses["all-models"]);
        Assert.Equal(ApiKeyStatus.Active, statuses["batches"]);
        Assert.Equal(ApiKeyStatus.Active, statuses["forever"]);
        Assert.Equal(ApiKeyStatus.Active, statuses["theirs"]);
    }

    private static string Replace(string text, int index, char replacement) =>
        string.Create(text.Length, (text, index, replacement), (span, state) =>
        {
            state.text.AsSpan().CopyTo(span);
            span[state.index] = state.replacement;
        });

    private static string Swap(string text, int index)
    {
        var chars = text.ToCharArray();
        var offset = 0;
        while (chars[index + offset] == chars[index + offset + 1])
        {
            offset++;
        }

        (chars[index + offset], chars[index + offset + 1]) = (chars[index + offset + 1], chars[index + offset]);
        return new string(chars);
    }

    public sealed class Sqlite() : ApiKeyServiceTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : ApiKeyServiceTests(DatabaseOptions.PostgresProvider);
}
