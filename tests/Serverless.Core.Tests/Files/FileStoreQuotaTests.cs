using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Data;
using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Files;

/// <summary>
/// The file records' quotas and expiry on a real database of each provider (<see cref="Sqlite"/>, <see cref="Postgres"/>).
/// </summary>
public abstract class FileStoreQuotaTests(string provider) : IAsyncLifetime
{
    private const int MaxFiles = 5;
    private const long MaxBytes = 10_000;

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero));
    private TestDatabase _database = null!;
    private ServiceProvider _services = null!;

    private FileStore Files => _services.GetRequiredService<FileStore>();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(provider);
        _services = await FileRecordServices.StartAsync(_database, _clock, new Dictionary<string, string?>
        {
            ["Database:BusyTimeout"] = "00:00:10",
            ["Files:MaxFilesPerCustomer"] = MaxFiles.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Files:MaxBytesPerCustomer"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    private Task<StoredFile> AddAsync(string customer, long bytes, TimeSpan? expiresAfter = null)
    {
        string id = "file-" + Guid.NewGuid().ToString("N")[..24];
        return Files.AddAsync(customer, id, "files/" + id, "input.jsonl", FilePurpose.Batch, bytes, expiresAfter, CancellationToken.None);
    }

    private async Task<int> RowsAsync(string customer)
    {
        await using var db = _services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContext();
        return await db.Set<StoredFile>().CountAsync(f => f.CustomerId == customer);
    }

    [Fact]
    public async Task Racing_uploads_never_leave_a_customer_over_the_file_count_quota()
    {
        var attempts = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            try
            {
                await AddAsync("racer", 10);
                return (string?)null;
            }
            catch (ApiException ex)
            {
                return ex.Code;
            }
        }));

        int kept = attempts.Count(a => a is null);
        Assert.InRange(kept, 1, MaxFiles);
        Assert.All(attempts.Where(a => a is not null), code => Assert.Equal("file_quota_exceeded", code));
        Assert.Equal(kept, await RowsAsync("racer"));
        Assert.Equal(new FileUsage(kept, kept * 10L), await Files.UsageAsync("racer", CancellationToken.None));
    }

    [Fact]
    public async Task Racing_uploads_never_leave_a_customer_over_the_byte_quota()
    {
        // Three of 4,000 bytes cannot all fit in 10,000.
        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            try
            {
                await AddAsync("heavy", 4_000);
                return true;
            }
            catch (ApiException ex) when (ex.Code == "file_quota_exceeded")
            {
                return false;
            }
        }));

        Assert.InRange(attempts.Count(a => a), 1, 2);
        Assert.True((await Files.UsageAsync("heavy", CancellationToken.None)).Bytes <= MaxBytes);
    }

    [Fact]
    public async Task The_quota_error_is_a_400_naming_the_limits_and_the_current_usage()
    {
        for (int i = 0; i < MaxFiles; i++)
        {
            await AddAsync("full", 100);
        }

        var error = await Assert.ThrowsAsync<ApiException>(() => AddAsync("full", 100));
        Assert.Equal(400, error.Status);
        Assert.Equal("file_quota_exceeded", error.Code);
        Assert.Equal("file", error.Param);
        Assert.Contains("at most 5 files and 10000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("you have 5 files using 500 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(MaxFiles, await RowsAsync("full"));

        // Another customer has its own quota.
        await AddAsync("other", 100);
    }

    [Fact]
    public async Task A_file_past_its_expiry_is_not_found_listed_deleted_or_counted_even_before_the_sweep()
    {
        var file = await AddAsync("acme", 100, TimeSpan.FromHours(1));
        Assert.Equal(file.CreatedAt.AddHours(1), file.ExpiresAt);
        Assert.NotNull(await Files.FindAsync("acme", file.Id, CancellationToken.None));

        _clock.Advance(TimeSpan.FromHours(1));

        Assert.Null(await Files.FindAsync("acme", file.Id, CancellationToken.None));
        Assert.Empty(await Files.ListAsync("acme", null, null, 10, ascending: false, CancellationToken.None));
        Assert.Equal(new FileUsage(0, 0), await Files.UsageAsync("acme", CancellationToken.None));
        Assert.False(await Files.DeleteAsync("acme", file.Id, CancellationToken.None));
        Assert.Equal(1, await RowsAsync("acme"));
    }

    [Fact]
    public async Task A_file_uploaded_without_expires_after_expires_after_the_default_of_30_days()
    {
        var file = await AddAsync("acme", 100);
        Assert.Equal(file.CreatedAt.AddDays(30), file.ExpiresAt);
    }

    public sealed class Sqlite() : FileStoreQuotaTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : FileStoreQuotaTests(DatabaseOptions.PostgresProvider);
}
