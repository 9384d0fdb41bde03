using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>SQLite: the WAL pages the ledger writer commits reach the database file by the checkpointer's rules.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class LedgerCheckpointTests(ServiceFixture service)
{
    [Fact]
    public async Task What_a_request_wrote_to_the_wal_is_checkpointed_once_the_writer_is_idle()
    {
        var checkpointer = service.Services.GetRequiredService<LedgerWriter>().Checkpointer
            ?? throw new InvalidOperationException("The SQLite ledger writer has no checkpointer.");
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"A quiet street","max_tokens":3}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The settlement just committed: its pages are counted (SQLite's per-connection count of pages written), and
        // a checkpoint waits for a second of idleness, since a handful of pages is far below the size that forces one.
        long before = checkpointer.Checkpoints;
        Assert.InRange(checkpointer.PendingPages, 1, LedgerCheckpointer.CheckpointPages - 1);

        var waited = Stopwatch.StartNew();
        while (checkpointer.Checkpoints == before)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"No checkpoint {waited.Elapsed} after the request ({checkpointer.PendingPages} pages pending).");
            await Task.Delay(50);
        }
    }
}
