using System.Data.Common;

namespace Serverless.Core.Metering;

/// <summary>
/// PostgreSQL: the rows a batch of ledger commands will use, named by the commands (<see cref="LedgerCommand.Declare"/>)
/// and read in the batch's first round trip, before the first command runs: the limit policies and the prices, and the
/// reservations to settle, deleted there and then, each only by its holder. What happens to the rate windows and budgets
/// depends on the batch's path (<see cref="LedgerBatch.Guarded"/>):
/// <list type="bullet">
/// <item>Locking: they are created empty where missing and locked and read in the same round trip, in the one global
/// order of <see cref="LedgerSql.LockWindows"/>. The commands then decide in memory (<see cref="LedgerCounters"/>), as on
/// SQLite, and that is exact for the same reason: until this transaction commits, no other instance can change a row it
/// decided on.</item>
/// <item>Guarded: they are not read at all. The commands decide on the values this writer last saw
/// (<see cref="PostgresHints"/>), and the batch adds its net change with a guard just before its COMMIT
/// (<see cref="LedgerSql.GuardWindows"/>); a guard that fails sends the batch back to the locking path.</item>
/// </list>
/// </summary>
internal sealed class PostgresPrefetch
{
    private readonly HashSet<(string Scope, string Id, long Start)> _windows = [];
    private readonly HashSet<(string Scope, string Id, long Start)> _budgets = [];
    private readonly HashSet<(string RequestId, string Holder)> _settled = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _customers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long First, long Last)> _priceTimes = new(StringComparer.Ordinal);
    private Policy _defaultPolicy;

    /// <summary>Whether the rate windows and budgets are locked and read up front (the locking path); the guarded path does not need them named.</summary>
    public bool LocksCounters { get; init; } = true;

    public void Window(string scope, string id, long windowStart)
    {
        if (LocksCounters)
        {
            _windows.Add((scope, id, windowStart));
        }
    }

    public void Budget(string scope, string id, long periodStart)
    {
        if (LocksCounters)
        {
            _budgets.Add((scope, id, periodStart));
        }
    }

    /// <summary>A reservation to settle: deleted up front if <paramref name="holder"/> holds it (see <see cref="LedgerBatch.Settling"/>).</summary>
    public void Settle(string requestId, string holder) => _settled.Add((requestId, holder));

    /// <summary>A key's and its customer's limit policies; <paramref name="defaults"/> stands where there is no policy row.</summary>
    public void Policies(string keyId, string customerId, Policy defaults)
    {
        _keys.Add(keyId);
        _customers.Add(customerId);
        _defaultPolicy = defaults;
    }

    /// <summary>A model's price at <paramref name="at"/> (Unix ms); the first time named wins, later ones are read when needed.</summary>
    public void Price(string model, long at)
    {
        _models.TryAdd(model, at);
        _priceTimes[model] = _priceTimes.TryGetValue(model, out var times) ? (Math.Min(times.First, at), Math.Max(times.Last, at)) : (at, at);
    }

    public void Run(LedgerBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.OneRoundTrip)
        {
            RunOnHints(batch);
            return;
        }

        int windows = batch.Guarded ? 0 : _windows.Count;
        int budgets = batch.Guarded ? 0 : _budgets.Count;
        if (windows + budgets + _settled.Count + _keys.Count + _models.Count == 0)
        {
            return;
        }

        batch.SendWrites();
        var cache = batch.Cache;
        using var round = batch.NewBatch();
        if (windows > 0)
        {
            PostgresWrites.Add(round, LedgerSql.CreateWindows, Keys(_windows));
            PostgresWrites.Add(round, LedgerSql.LockWindows, Keys(_windows));
        }

        if (budgets > 0)
        {
            PostgresWrites.Add(round, LedgerSql.CreateBudgets, Keys(_budgets));
            PostgresWrites.Add(round, LedgerSql.LockBudgets, Keys(_budgets));
        }

        var settled = _settled.Count > 0 ? new (string RequestId, string Holder)[_settled.Count] : [];
        if (settled.Length > 0)
        {
            _settled.CopyTo(settled);
            var ids = new string[settled.Length];
            var holders = new string[settled.Length];
            for (int i = 0; i < settled.Length; i++)
            {
                (ids[i], holders[i]) = settled[i];
            }

            PostgresWrites.Add(round, LedgerSql.DeleteReservations, ("@ids", ids), ("@holders", holders));
        }

        if (_keys.Count > 0)
        {
            PostgresWrites.Add(round, LedgerSql.SelectPoliciesOf, ("@keys", _keys.ToArray()), ("@customers", _customers.ToArray()));
        }

        if (_models.Count > 0)
        {
            PostgresWrites.Add(round, LedgerSql.SelectPricesOf, ("@models", _models.Keys.ToArray()), ("@nows", _models.Values.ToArray()));
        }

        using var reader = round.ExecuteReader();
        if (windows > 0)
        {
            var created = Created(reader);
            reader.NextResult();
            ReadRows(reader, created, cache.Windows, cache.ChangedWindows, columns: 2);
            reader.NextResult();
        }

        if (budgets > 0)
        {
            var created = Created(reader);
            reader.NextResult();
            ReadRows(reader, created, cache.Budgets, cache.ChangedBudgets, columns: 4);
            reader.NextResult();
        }

        if (settled.Length > 0)
        {
            foreach (var key in settled)
            {
                batch.Settling[key] = false;
            }

            while (reader.Read())
            {
                batch.Settling[settled[reader.GetInt64(0) - 1]] = true;
            }

            reader.NextResult();
        }

        if (_keys.Count > 0)
        {
            ReadPolicies(reader, cache);
            reader.NextResult();
        }

        if (_models.Count > 0)
        {
            while (reader.Read())
            {
                var price = new PriceRow(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
                cache.Prices[reader.GetString(0)] = (price, reader.GetInt64(5), reader.IsDBNull(6) ? long.MaxValue : reader.GetInt64(6));
            }
        }
    }

    // The one-round-trip path: nothing is read now. The policies and prices come from what the writer last saw, the
    // reservations to settle count as deleted, and statements that check all three go first in the batch's only round
    // trip (LedgerSql.CheckPolicies): a difference fails it before anything is committed.
    private void RunOnHints(LedgerBatch batch)
    {
        var cache = batch.Cache;
        var writes = batch.Writes!;
        var policies = new List<(string Scope, string Id)>(_keys.Count + _customers.Count);
        policies.AddRange(_keys.Select(key => (LimitScope.Key, key)));
        policies.AddRange(_customers.Select(customer => (LimitScope.Customer, customer)));
        batch.Hints!.CopyTo(cache, policies, _models.Keys);
        if (_settled.Count > 0)
        {
            var ids = new string[_settled.Count];
            var holders = new string[_settled.Count];
            int i = 0;
            foreach (var settled in _settled)
            {
                (ids[i], holders[i]) = settled;
                batch.Settling[settled] = true;
                i++;
            }

            writes.Check(LedgerSql.DeleteReservationsExactly, ("@ids", ids), ("@holders", holders));
        }

        if (policies.Count > 0)
        {
            var limits = policies.ConvertAll(key => cache.Policies[key]);
            writes.Check(LedgerSql.CheckPolicies,
                ("@scopes", policies.ConvertAll(p => p.Scope).ToArray()), ("@ids", policies.ConvertAll(p => p.Id).ToArray()),
                ("@requests", limits.ConvertAll(p => p.RequestsPerMinute).ToArray()), ("@tokens", limits.ConvertAll(p => p.TokensPerMinute).ToArray()),
                ("@spendCaps", limits.ConvertAll(p => p.SpendCap).ToArray()), ("@tokenCaps", limits.ConvertAll(p => p.TokenCap).ToArray()),
                ("@defaultRequests", _defaultPolicy.RequestsPerMinute), ("@defaultTokens", _defaultPolicy.TokensPerMinute));
        }

        if (_priceTimes.Count > 0)
        {
            var models = new List<string>(_priceTimes.Count * 2);
            var ats = new List<long>(_priceTimes.Count * 2);
            var versions = new List<long>(_priceTimes.Count * 2);
            foreach (var (model, (first, last)) in _priceTimes)
            {
                long version = cache.Prices[model].Price.Version;
                models.AddRange([model, model]);
                ats.AddRange([first, last]);
                versions.AddRange([version, version]);
            }

            writes.Check(LedgerSql.CheckPrices, ("@models", models.ToArray()), ("@ats", ats.ToArray()), ("@versions", versions.ToArray()));
        }
    }

    private void ReadPolicies(DbDataReader reader, LedgerBatchCache cache)
    {
        foreach (string key in _keys)
        {
            cache.Policies[(LimitScope.Key, key)] = _defaultPolicy;
        }

        foreach (string customer in _customers)
        {
            cache.Policies[(LimitScope.Customer, customer)] = _defaultPolicy;
        }

        while (reader.Read())
        {
            cache.Policies[(reader.GetString(0), reader.GetString(1))] = new Policy(
                reader.IsDBNull(2) ? _defaultPolicy.RequestsPerMinute : reader.GetInt64(2),
                reader.IsDBNull(3) ? _defaultPolicy.TokensPerMinute : reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5));
        }
    }

    private static (string Name, object? Value)[] Keys(HashSet<(string Scope, string Id, long Start)> rows)
    {
        var scopes = new string[rows.Count];
        var ids = new string[rows.Count];
        var starts = new long[rows.Count];
        int i = 0;
        foreach (var (scope, id, start) in rows)
        {
            (scopes[i], ids[i], starts[i]) = (scope, id, start);
            i++;
        }

        return [("@scopes", scopes), ("@ids", ids), ("@starts", starts)];
    }

    private static HashSet<(string Scope, string Id, long Start)> Created(DbDataReader reader)
    {
        var created = new HashSet<(string, string, long)>();
        while (reader.Read())
        {
            created.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return created;
    }

    private static void ReadRows(
        DbDataReader reader, HashSet<(string Scope, string Id, long Start)> created,
        Dictionary<(string Scope, string Id, long Start), LedgerCounters.Row> rows,
        List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> changed, int columns)
    {
        while (reader.Read())
        {
            var key = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2));
            var row = new LedgerCounters.Row(changed, key);
            if (created.Contains(key))
            {
                row.Created = true;
            }
            else
            {
                row.Load(reader.GetInt64(3), reader.GetInt64(4), columns > 2 ? reader.GetInt64(5) : 0, columns > 2 ? reader.GetInt64(6) : 0);
            }

            rows[key] = row;
        }
    }
}
