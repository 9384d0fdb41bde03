using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Http;

namespace Serverless.Core.Keys;

/// <summary>
/// Issues, lists, revokes and verifies API keys. A singleton: it holds the verification cache.
/// </summary>
/// <remarks>
/// Verification order: header shape and key checksum (no I/O) → HMAC of the key → cache of recent
/// successes (by key id, hash compared in constant time) → database. A cached success is reused for
/// <see cref="KeyOptions.CacheTtl"/>; <see cref="RevokeAsync"/> drops it on this instance at once, while other
/// instances see a revocation or a disabled customer when their entry runs out (at most CacheTtl later).
/// Only successes are cached, so the cache holds at most one entry per key in use.
/// </remarks>
public sealed class ApiKeyService
{
    public const int MaxNameLength = 100;

    /// <summary>LastUsedAt is written at most this often per key and instance.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private readonly IDbContextFactory<ServerlessDbContext> _dbFactory;
    private readonly TimeProvider _time;
    private readonly ILogger<ApiKeyService> _logger;
    private readonly ApiKeyHasher _hasher;
    private readonly string _prefix;
    private readonly long _cacheTtlMs;
    private readonly ConcurrentDictionary<string, CachedKey> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedKey>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;

    // Bumped by every revocation, so a verification that read the row just before a revoke does not
    // put a stale success back into the cache after the revoke has cleared it.
    private long _revocations;

    public ApiKeyService(
        IDbContextFactory<ServerlessDbContext> dbFactory,
        IOptions<KeyOptions> options,
        TimeProvider time,
        ILogger<ApiKeyService> logger)
    {
        ArgumentNullException.ThrowIfNull(dbFactory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);

        var value = options.Value;
        _dbFactory = dbFactory;
        _time = time;
        _logger = logger;
        _hasher = new ApiKeyHasher(Encoding.UTF8.GetBytes(value.HashSecret));
        _prefix = value.Prefix;
        _cacheTtlMs = (long)value.CacheTtl.TotalMilliseconds;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// Issues a key for <paramref name="customer"/> (a customer id such as "acme"; created if new).
    /// The returned <see cref="CreatedApiKey.Key"/> is the only copy of the key there will ever be.
    /// </summary>
    /// <param name="modelScope">Model ids the key may use; null or empty for every model.</param>
    /// <param name="expiresAt">When the key stops working; null for never. Must be in the future.</param>
    public Task<CreatedApiKey> CreateAsync(
        string customer,
        string name,
        IReadOnlyList<string>? modelScope,
        DateTimeOffset? expiresAt,
        CancellationToken cancellationToken) =>
        CreateAsync(customer, name, modelScope, expiresAt, permissions: null, cancellationToken);

    /// <inheritdoc cref="CreateAsync(string, string, IReadOnlyList{string}?, DateTimeOffset?, CancellationToken)"/>
    /// <param name="permissions">
    /// What the key may do (<see cref="ApiKeyPermissions"/>); null for <see cref="ApiKeyPermissions.Default"/>, which
    /// leaves out keys.manage. Unknown names throw <see cref="ArgumentException"/> with ParamName "permissions".
    /// </param>
    public async Task<CreatedApiKey> CreateAsync(
        string customer,
        string name,
        IReadOnlyList<string>? modelScope,
        DateTimeOffset? expiresAt,
        IReadOnlyList<string>? permissions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(name);
        if (!CustomerIds.IsValid(customer))
        {
            throw new ArgumentException(
                $"Customer ids are 1-{CustomerIds.MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit.",
                nameof(customer));
        }

        name = name.Trim();
        if (name.Length > MaxNameLength)
        {
            throw new ArgumentException($"Key names are at most {MaxNameLength} characters.", nameof(name));
        }

        var scope = ModelScopeList.Normalize(modelScope);
        var granted = ApiKeyPermissions.Normalize(permissions);
        var now = Now();
        if (expiresAt is { } expiry && expiry <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(expiresAt), expiresAt, "The expiry must be in the future.");
        }

        var (key, keyId) = ApiKeyFormat.Generate(_prefix);
        var entity = new ApiKey
        {
            KeyId = keyId,
            CustomerId = customer,
            Name = name,
            Hash = _hasher.Hash(key),
            Prefix = _prefix,
            LastFour = key[^4..],
            ModelScope = ModelScopeList.Format(scope),
            Permissions = ApiKeyPermissions.Format(granted),
            CreatedAt = now,
            ExpiresAt = expiresAt.HasValue ? TruncateToMilliseconds(expiresAt.Value) : null,
        };

        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureCustomerAsync(db, customer, now, cancellationToken);
        db.ApiKeys.Add(entity);
        await db.SaveChangesAsync(cancellationToken);

        _logger.KeyCreated(keyId, customer);
        return new CreatedApiKey(key, ToInfo(entity, now));
    }

    /// <summary>
    /// Issues a key on behalf of <paramref name="grantor"/> (a dashboard session): for the grantor's customer and no
    /// broader than the grantor's own key. The grantor needs keys.manage; the new key's models must be within the
    /// grantor's scope (a grantor with every model may grant any), its permissions within the grantor's, and it may not
    /// outlive the grantor's key. Omitted fields take the grantor's bound: the grantor's scope, its expiry, and the
    /// default permissions the grantor holds.
    /// </summary>
    /// <exception cref="KeyGrantDeniedException">The request asks for more than the grantor's key allows.</exception>
    /// <exception cref="ArgumentException">Invalid name, model ids or permission names.</exception>
    public Task<CreatedApiKey> CreateWithinAsync(
        ApiCaller grantor,
        string name,
        IReadOnlyList<string>? modelScope,
        DateTimeOffset? expiresAt,
        IReadOnlyList<string>? permissions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grantor);
        RequireKeysManage(grantor);

        var scope = ModelScopeList.Normalize(modelScope);
        if (scope.Length == 0)
        {
            scope = [.. grantor.ModelScope];
        }
        else if (grantor.ModelScope.Count > 0 && scope.FirstOrDefault(m => !grantor.CanUse(m)) is { } outside)
        {
            throw new KeyGrantDeniedException(KeyGrantDeniedException.ModelsExceeded,
                $"Your key may not use the model '{outside}', so it cannot give a new key access to it. Models your key may use: {string.Join(", ", grantor.ModelScope)}.",
                "models");
        }

        IReadOnlyList<string> granted;
        if (permissions is null)
        {
            granted = [.. ApiKeyPermissions.Default.Where(grantor.Has)];
            if (granted.Count == 0)
            {
                throw new ArgumentException("Name the permissions of the new key: your key holds none of the default ones.", ApiKeyPermissions.ParamName);
            }
        }
        else
        {
            granted = ApiKeyPermissions.Normalize(permissions);
            if (granted.FirstOrDefault(p => !grantor.Has(p)) is { } missing)
            {
                throw new KeyGrantDeniedException(KeyGrantDeniedException.PermissionsExceeded,
                    $"Your key does not have the '{missing}' permission, so it cannot give it to a new key.", ApiKeyPermissions.ParamName);
            }
        }

        if (grantor.ExpiresAt is { } bound)
        {
            if (expiresAt is null)
            {
                expiresAt = bound;
            }
            else if (TruncateToMilliseconds(expiresAt.Value) > bound)
            {
                throw new KeyGrantDeniedException(KeyGrantDeniedException.ExpiryExceeded,
                    $"Your key expires at {bound:u}; a key it creates cannot expire later.", "expires_in_days");
            }
        }

        return CreateAsync(grantor.CustomerId, name, scope, expiresAt, granted, cancellationToken);
    }

    /// <summary>
    /// Revokes one of <paramref name="grantor"/>'s customer's keys on the grantor's behalf. Null when the customer has
    /// no key with this id (another customer's key included). The grantor needs keys.manage and cannot revoke a key
    /// that can do more than its own: more models, more permissions or a later (or no) expiry.
    /// </summary>
    /// <exception cref="KeyGrantDeniedException">The grantor lacks keys.manage, or the key is broader than the grantor's.</exception>
    public async Task<ApiKeyInfo?> RevokeWithinAsync(ApiCaller grantor, string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grantor);
        ArgumentNullException.ThrowIfNull(keyId);
        RequireKeysManage(grantor);
        var key = await GetAsync(keyId, cancellationToken);
        if (key is null || key.CustomerId != grantor.CustomerId)
        {
            return null;
        }

        bool broaderModels = grantor.ModelScope.Count > 0 && (key.ModelScope.Count == 0 || key.ModelScope.Any(m => !grantor.CanUse(m)));
        bool broaderPermissions = !ApiKeyPermissions.IsSubset(key.Permissions, grantor.Permissions);
        bool outlives = grantor.ExpiresAt is { } bound && (key.ExpiresAt is not { } expiry || expiry > bound);
        if (broaderModels || broaderPermissions || outlives)
        {
            string what = broaderModels ? "more models" : broaderPermissions ? "permissions" : "a later expiry";
            throw new KeyGrantDeniedException(KeyGrantDeniedException.TargetBroader,
                $"The key '{keyId}' has {what} than your key has, so your key cannot revoke it. Sign in with a broader key or a sign-in link.", "id");
        }

        await RevokeAsync(keyId, cancellationToken);
        return await GetAsync(keyId, cancellationToken);
    }

    /// <summary>
    /// What a dashboard session may do, read fresh on each request: the key it was opened with (its permissions, scope
    /// and expiry), or, for a sign-in link (<paramref name="keyId"/> null), the whole customer. Null when the session
    /// must end: the customer is unknown or disabled, or the key is not the customer's or no longer active.
    /// </summary>
    public async Task<ApiCaller?> GetSessionCallerAsync(string customerId, string? keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var customer = await db.Customers.AsNoTracking()
            .Where(c => c.Id == customerId)
            .Select(c => new { c.Disabled })
            .SingleOrDefaultAsync(cancellationToken);
        if (customer is null || customer.Disabled)
        {
            return null;
        }

        if (keyId is null)
        {
            return new ApiCaller(string.Empty, customerId, [], ApiKeyPermissions.All);
        }

        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.KeyId == keyId, cancellationToken);
        if (key is null || key.CustomerId != customerId || ToInfo(key, Now()).Status != ApiKeyStatus.Active)
        {
            return null;
        }

        return new ApiCaller(key.KeyId, customerId, ModelScopeList.Parse(key.ModelScope), ApiKeyPermissions.Parse(key.Permissions))
        {
            ExpiresAt = key.ExpiresAt,
        };
    }

    /// <summary>Keys of one customer, or of all when <paramref name="customer"/> is null, oldest first; masked.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(string? customer, CancellationToken cancellationToken)
    {
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.ApiKeys.AsNoTracking();
        if (customer is not null)
        {
            query = query.Where(k => k.CustomerId == customer);
        }

        var keys = await query.OrderBy(k => k.CreatedAt).ThenBy(k => k.KeyId).ToListAsync(cancellationToken);
        var now = Now();
        return keys.ConvertAll(k => ToInfo(k, now));
    }

    /// <summary>One key by id, masked; null when no key has this id.</summary>
    public async Task<ApiKeyInfo?> GetAsync(string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.KeyId == keyId, cancellationToken);
        return key is null ? null : ToInfo(key, Now());
    }

    /// <summary>
    /// Revokes a key; the next request with it on this instance fails with <see cref="KeyAuthFailure.Revoked"/>.
    /// Returns false when no key has this id; revoking twice keeps the first revocation time and returns true.
    /// </summary>
    /// <summary>Creates the customer if it does not exist yet (ids as for keys: letters, digits, '.', '_', '-').</summary>
    public async Task EnsureCustomerAsync(string customerId, CancellationToken cancellationToken)
    {
        if (!CustomerIds.IsValid(customerId))
        {
            throw new ArgumentException($"Customer id '{customerId}' is invalid: use up to {CustomerIds.MaxLength} letters, digits, '.', '_' or '-'.", nameof(customerId));
        }

        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureCustomerAsync(db, customerId, Now(), cancellationToken);
    }

    /// <summary>
    /// Disables or re-enables every key of a customer (billing: a canceled subscription). Takes effect for the
    /// next request on this instance and within the cache TTL on others.
    /// </summary>
    public async Task<bool> SetCustomerDisabledAsync(string customerId, bool disabled, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        int changed = await db.Customers.Where(c => c.Id == customerId).ExecuteUpdateAsync(set => set.SetProperty(c => c.Disabled, disabled), cancellationToken);
        Interlocked.Increment(ref _revocations);
        foreach (var entry in _cache)
        {
            if (entry.Value.Principal.CustomerId == customerId)
            {
                _cache.TryRemove(entry);
            }
        }

        return changed > 0;
    }

    public async Task<bool> RevokeAsync(string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        var now = Now();

        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var revoked = await db.ApiKeys
            .Where(k => k.KeyId == keyId && k.RevokedAt == null)
            .ExecuteUpdateAsync(set => set.SetProperty(k => k.RevokedAt, now), cancellationToken);

        Interlocked.Increment(ref _revocations);
        _cache.TryRemove(keyId, out _);

        if (revoked > 0)
        {
            _logger.KeyRevoked(keyId);
            return true;
        }

        return await db.ApiKeys.AnyAsync(k => k.KeyId == keyId, cancellationToken);
    }

    /// <summary>
    /// Verifies an <c>Authorization</c> header value. Missing, malformed and mistyped keys are refused
    /// without touching the database; a recently verified key is answered from memory.
    /// </summary>
    public ValueTask<KeyAuthResult> AuthenticateAsync(string? authorizationHeader, CancellationToken cancellationToken)
    {
        switch (BearerToken.Extract(authorizationHeader, out var key))
        {
            case BearerTokenStatus.Missing:
                return Reject(KeyAuthFailure.Missing);
            case BearerTokenStatus.Malformed:
                return Reject(KeyAuthFailure.Malformed);
        }

        switch (ApiKeyFormat.Parse(key, _prefix, out var keyId))
        {
            case ApiKeyParseResult.Malformed:
                return Reject(KeyAuthFailure.Malformed);
            case ApiKeyParseResult.BadChecksum:
                return Reject(KeyAuthFailure.BadChecksum);
        }

        Span<byte> hash = stackalloc byte[ApiKeyHasher.HashLength];
        _hasher.Hash(key, hash);
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();

        if (_cacheBySpan.TryGetValue(keyId, out var cached)
            && cached.FreshUntilMs > nowMs
            && CryptographicOperations.FixedTimeEquals(cached.Hash, hash))
        {
            if (cached.ExpiresAtMs <= nowMs)
            {
                _cache.TryRemove(KeyValuePair.Create(cached.Principal.KeyId, cached));
                return Reject(KeyAuthFailure.Expired, cached.Principal.KeyId);
            }

            return cached.TryClaimLastUsedWrite(nowMs)
                ? RecordUseAsync(cached, nowMs, cancellationToken)
                : ValueTask.FromResult(cached.Result);
        }

        return AuthenticateFromDatabaseAsync(keyId.ToString(), hash.ToArray(), nowMs, cancellationToken);
    }


    private async ValueTask<KeyAuthResult> AuthenticateFromDatabaseAsync(
        string keyId, byte[] hash, long nowMs, CancellationToken cancellationToken)
    {
        var revocationsBefore = Interlocked.Read(ref _revocations);

        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyId == keyId)
            .Select(k => new
            {
                k.Hash,
                k.CustomerId,
                k.ModelScope,
                k.Permissions,
                k.ExpiresAt,
                k.RevokedAt,
                k.LastUsedAt,
                CustomerDisabled = k.Customer.Disabled,
            })
            .SingleOrDefaultAsync(cancellationToken);

        if (row is null || !CryptographicOperations.FixedTimeEquals(row.Hash, hash))
        {
            return RejectNow(KeyAuthFailure.Unknown, keyId);
        }

        if (row.RevokedAt is not null)
        {
            return RejectNow(KeyAuthFailure.Revoked, keyId);
        }

        var expiresAtMs = row.ExpiresAt?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        if (expiresAtMs <= nowMs)
        {
            return RejectNow(KeyAuthFailure.Expired, keyId);
        }

        if (row.CustomerDisabled)
        {
            return RejectNow(KeyAuthFailure.CustomerDisabled, keyId);
        }

        var principal = new ApiCaller(keyId, row.CustomerId, ModelScopeList.Parse(row.ModelScope), ApiKeyPermissions.Parse(row.Permissions))
        {
            ExpiresAt = row.ExpiresAt,
        };
        var entry = new CachedKey(
            principal, hash, expiresAtMs, nowMs + _cacheTtlMs, row.LastUsedAt?.ToUnixTimeMilliseconds() ?? 0);

        if (_cacheTtlMs > 0)
        {
            _cache[keyId] = entry;
            if (Interlocked.Read(ref _revocations) != revocationsBefore)
            {
                _cache.TryRemove(KeyValuePair.Create(keyId, entry));
            }
        }

        if (entry.TryClaimLastUsedWrite(nowMs))
        {
            await WriteLastUsedAsync(db, keyId, nowMs, cancellationToken);
        }

        return entry.Result;
    }

    private async ValueTask<KeyAuthResult> RecordUseAsync(CachedKey entry, long nowMs, CancellationToken cancellationToken)
    {
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        await WriteLastUsedAsync(db, entry.Principal.KeyId, nowMs, cancellationToken);
        return entry.Result;
    }

    // Bookkeeping must not fail the request; the condition keeps several instances from each writing every minute.
    private async Task WriteLastUsedAsync(ServerlessDbContext db, string keyId, long nowMs, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(nowMs);
        var threshold = now - LastUsedResolution;
        try
        {
            await db.ApiKeys
                .Where(k => k.KeyId == keyId && (k.LastUsedAt == null || k.LastUsedAt <= threshold))
                .ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, now), cancellationToken);
        }
        catch (DbException ex)
        {
            _logger.LastUsedUpdateFailed(keyId, ex);
        }
    }

    private async Task EnsureCustomerAsync(ServerlessDbContext db, string customerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await db.Customers.AnyAsync(c => c.Id == customerId, cancellationToken))
        {
            return;
        }

        db.Customers.Add(new Customer { Id = customerId, Name = customerId, CreatedAt = now });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            _logger.CustomerCreated(customerId);
        }
        catch (DbUpdateException)
        {
            // Another request created the same customer between our check and insert: that is the goal anyway.
            db.ChangeTracker.Clear();
            if (!await db.Customers.AnyAsync(c => c.Id == customerId, cancellationToken))
            {
                throw;
            }
        }
    }

    private ValueTask<KeyAuthResult> Reject(KeyAuthFailure reason)
    {
        _logger.KeyRejected(reason);
        return ValueTask.FromResult(KeyAuthResult.Fail(reason));
    }

    private ValueTask<KeyAuthResult> Reject(KeyAuthFailure reason, string keyId) =>
        ValueTask.FromResult(RejectNow(reason, keyId));

    private KeyAuthResult RejectNow(KeyAuthFailure reason, string keyId)
    {
        _logger.KeyRejected(keyId, reason);
        return KeyAuthResult.Fail(reason);
    }

    private static void RequireKeysManage(ApiCaller grantor)
    {
        if (!grantor.Has(ApiKeyPermissions.KeysManage))
        {
            throw new KeyGrantDeniedException(KeyGrantDeniedException.InsufficientPermissions,
                $"You have insufficient permissions for this operation. Missing permission: {ApiKeyPermissions.KeysManage}.");
        }
    }

    private DateTimeOffset Now() => TruncateToMilliseconds(_time.GetUtcNow());

    // The database keeps milliseconds (UnixMillisecondsConverter); returning the same value avoids surprises.
    private static DateTimeOffset TruncateToMilliseconds(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());

    private static ApiKeyInfo ToInfo(ApiKey key, DateTimeOffset now)
    {
        var status = key.RevokedAt is not null ? ApiKeyStatus.Revoked
            : key.ExpiresAt is { } expiry && expiry <= now ? ApiKeyStatus.Expired
            : ApiKeyStatus.Active;

        return new ApiKeyInfo(
            key.KeyId,
            key.CustomerId,
            key.Name,
            $"{key.Prefix}-{key.KeyId}-...{key.LastFour}",
            ModelScopeList.Parse(key.ModelScope),
            ApiKeyPermissions.Parse(key.Permissions),
            status,
            key.CreatedAt,
            key.ExpiresAt,
            key.RevokedAt,
            key.LastUsedAt);
    }

    private sealed class CachedKey(ApiCaller principal, byte[] hash, long expiresAtMs, long freshUntilMs, long lastUsedMs)
    {
        private long _lastUsedMs = lastUsedMs;

        public ApiCaller Principal { get; } = principal;

        public KeyAuthResult Result { get; } = KeyAuthResult.Success(principal);

        public byte[] Hash { get; } = hash;

        public long ExpiresAtMs { get; } = expiresAtMs;

        public long FreshUntilMs { get; } = freshUntilMs;

        /// <summary>True for exactly one caller once a minute has passed since the last recorded use.</summary>
        public bool TryClaimLastUsedWrite(long nowMs)
        {
            var last = Interlocked.Read(ref _lastUsedMs);
            return nowMs - last >= (long)LastUsedResolution.TotalMilliseconds
                && Interlocked.CompareExchange(ref _lastUsedMs, nowMs, last) == last;
        }
    }
}
