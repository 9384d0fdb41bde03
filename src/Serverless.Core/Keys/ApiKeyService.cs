using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;

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
    public async Task<CreatedApiKey> CreateAsync(
        string customer,
        string name,
        IReadOnlyList<string>? modelScope,
        DateTimeOffset? expiresAt,
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

    /// <summary>Whether <paramref name="principal"/>'s key may use <paramref name="modelId"/> (else HTTP 403).</summary>
    public static bool IsModelAllowed(ApiKeyPrincipal principal, string modelId)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.IsModelAllowed(modelId);
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

        var principal = new ApiKeyPrincipal(keyId, row.CustomerId, ModelScopeList.Parse(row.ModelScope));
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
            status,
            key.CreatedAt,
            key.ExpiresAt,
            key.RevokedAt,
            key.LastUsedAt);
    }

    private sealed class CachedKey(ApiKeyPrincipal principal, byte[] hash, long expiresAtMs, long freshUntilMs, long lastUsedMs)
    {
        private long _lastUsedMs = lastUsedMs;

        public ApiKeyPrincipal Principal { get; } = principal;

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
