using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Data;
using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Core.Jobs;
using Serverless.Core.Tests.Data;
using Serverless.Core.Tests.Files;

namespace Serverless.Core.Tests.Jobs;

/// <summary>
/// Creating a batch on a real SQLite database. The orchestration host is the one stand-in: it records what it was
/// asked to start, or fails as a host that cannot be reached does.
/// </summary>
public sealed class BatchCreationTests : IAsyncLifetime
{
    private static readonly ApiCaller Caller = new("key_1", "acme", ["tiny-a", "tiny-b"], []);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly Starter _starter = new();
    private TestDatabase _database = null!;
    private ServiceProvider _services = null!;

    private BatchCreation Creation => _services.GetRequiredService<BatchCreation>();

    private sealed class Starter : IBatchStarter
    {
        public Exception? Failure { get; set; }

        public List<string> Started { get; } = [];

        public Task StartAsync(string batchId, CancellationToken cancellationToken)
        {
            if (Failure is { } failure)
            {
                throw failure;
            }

            Started.Add(batchId);
            return Task.CompletedTask;
        }
    }

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(DatabaseOptions.SqliteProvider);
        _services = await FileRecordServices.StartAsync(
            _database,
            _clock,
            new Dictionary<string, string?> { ["Batch:CompletionWindow"] = "02:00:00" },
            (services, configuration) => services.AddSingleton<IBatchStarter>(_starter).AddBatches(configuration));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    private async Task<string> FileAsync(string customer, string purpose = FilePurpose.Batch)
    {
        string id = "file-" + Guid.NewGuid().ToString("N")[..24];
        await _services.GetRequiredService<FileStore>().AddAsync(customer, id, "files/" + id, "input.jsonl", purpose, 100, null, CancellationToken.None);
        return id;
    }

    private async Task<List<BatchJob>> BatchesAsync()
    {
        await using var db = _services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContext();
        return await db.Set<BatchJob>().AsNoTracking().ToListAsync();
    }

    private static BatchRequest Request(string inputFileId) => new(inputFileId, BatchEndpoints.Completions, "24h", """{"team":"nlp"}""");

    [Fact]
    public async Task A_batch_is_recorded_validating_for_the_callers_key_and_scope_until_one_window_from_now_and_started_under_its_id()
    {
        string input = await FileAsync("acme");
        var job = await Creation.CreateAsync(Caller, Request(input), CancellationToken.None);

        Assert.StartsWith("batch_", job.Id, StringComparison.Ordinal);
        Assert.Equal([job.Id], _starter.Started);
        var stored = Assert.Single(await BatchesAsync());
        Assert.Equal((job.Id, "acme", "key_1", "tiny-a,tiny-b"), (stored.Id, stored.CustomerId, stored.KeyId, stored.ModelScope));
        Assert.Equal((BatchEndpoints.Completions, input, "24h", """{"team":"nlp"}"""), (stored.Endpoint, stored.InputFileId, stored.CompletionWindow, stored.Metadata));
        Assert.Equal(BatchStatus.Validating, stored.Status);
        Assert.Equal((_clock.GetUtcNow(), _clock.GetUtcNow().AddHours(2)), (stored.CreatedAt, stored.ExpiresAt));
    }

    [Fact]
    public async Task A_batch_whose_orchestration_cannot_start_is_removed_and_refused_with_503_batch_not_started()
    {
        string input = await FileAsync("acme");
        _starter.Failure = new InvalidOperationException("task hub unreachable");

        var error = await Assert.ThrowsAsync<ApiException>(() => Creation.CreateAsync(Caller, Request(input), CancellationToken.None));

        Assert.Equal((503, "batch_not_started", 2), (error.Status, error.Code, error.RetryAfterSeconds));
        Assert.Empty(await BatchesAsync());
    }

    [Fact]
    public async Task Another_customers_file_is_a_404_naming_input_file_id_and_nothing_is_recorded_or_started()
    {
        string input = await FileAsync("someone-else");

        var error = await Assert.ThrowsAsync<ApiException>(() => Creation.CreateAsync(Caller, Request(input), CancellationToken.None));

        Assert.Equal((404, "file_not_found", "input_file_id"), (error.Status, error.Code, error.Param));
        Assert.Empty(await BatchesAsync());
        Assert.Empty(_starter.Started);
    }

    [Fact]
    public async Task A_file_the_service_wrote_cannot_be_a_batchs_input()
    {
        string output = await FileAsync("acme", FilePurpose.BatchOutput);

        var error = await Assert.ThrowsAsync<ApiException>(() => Creation.CreateAsync(Caller, Request(output), CancellationToken.None));

        Assert.Equal((400, "invalid_value", "input_file_id"), (error.Status, error.Code, error.Param));
        Assert.Empty(await BatchesAsync());
    }
}
