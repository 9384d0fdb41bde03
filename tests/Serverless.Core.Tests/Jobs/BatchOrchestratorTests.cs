using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Serverless.Core.Jobs;

namespace Serverless.Core.Tests.Jobs;

/// <summary>
/// The orchestrator's own logic on the in-memory Durable Task host, with activities that only record what they were
/// asked: bounded fan-out, stopping on cancel and at the deadline, failing cleanly. (The real activities run against
/// the local host in the integration tests.)
/// </summary>
public sealed class BatchOrchestratorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Stand-in activities: chunks take <see cref="ChunkTime"/>, and <see cref="StopAt"/> reports a stop.</summary>
    private sealed class Activities
    {
        private int _running;

        public int Chunks { get; init; } = 6;

        public int Parallel { get; init; } = 2;

        public TimeSpan ChunkTime { get; init; } = TimeSpan.FromMilliseconds(100);

        public TimeSpan Window { get; init; } = TimeSpan.FromHours(1);

        public int? StopAt { get; init; }

        public bool Invalid { get; init; }

        public bool ValidationThrows { get; init; }

        public int MostRunning { get; private set; }

        public ConcurrentBag<int> Ran { get; } = [];

        public FinalizeRequest? Finalized { get; private set; }

        public FailRequest? Failed { get; private set; }

        public void Register(DurableTaskRegistry registry)
        {
            // One quick retry, so a failing activity fails the orchestration in a second rather than in half a minute.
            registry.AddOrchestrator(new TaskName(BatchOrchestrator.Name), () => new BatchOrchestrator(new RetryPolicy(2, TimeSpan.FromMilliseconds(100))));
            registry.AddActivityFunc<string, BatchPlan>(BatchActivityNames.Validate, (_, id) =>
                ValidationThrows ? throw new InvalidOperationException("storage is down") : new BatchPlan(!Invalid, Chunks, DateTimeOffset.UtcNow + Window, Parallel));
            registry.AddActivityFunc<ChunkRequest, ChunkOutcome>(BatchActivityNames.RunChunk, async (_, request) =>
            {
                int running = Interlocked.Increment(ref _running);
                lock (Ran)
                {
                    MostRunning = Math.Max(MostRunning, running);
                }

                Ran.Add(request.Chunk);
                await Task.Delay(request.Chunk == StopAt ? TimeSpan.Zero : ChunkTime);
                Interlocked.Decrement(ref _running);
                return new ChunkOutcome(1, 0, request.Chunk == StopAt ? BatchStatus.Cancelled : null);
            });
            registry.AddActivityFunc<FinalizeRequest, string>(BatchActivityNames.Finalize, (_, request) =>
            {
                Finalized = request;
                return request.Stopped ?? BatchStatus.Completed;
            });
            registry.AddActivityFunc<FailRequest, bool>(BatchActivityNames.Fail, (_, request) =>
            {
                Failed = request;
                return true;
            });
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string?> RunAsync(Activities activities)
    {
        // The test host picks a random port in 30000-40000 without checking it is free, and that range overlaps the
        // ephemeral ports of every other connection on the machine: take one the system says is free.
        await using var host = await DurableTaskTestHost.StartAsync(activities.Register, new DurableTaskTestHostOptions { Port = FreePort() });
        string id = await host.Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(BatchOrchestrator.Name), "batch_test");
        using var timeout = new CancellationTokenSource(Timeout);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<string>();
    }

    [Fact]
    public async Task Every_chunk_runs_with_at_most_the_allowed_number_in_flight_then_the_batch_is_finalized()
    {
        var activities = new Activities { Chunks = 6, Parallel = 2 };
        Assert.Equal(BatchStatus.Completed, await RunAsync(activities));
        Assert.Equal(Enumerable.Range(0, 6), activities.Ran.Order());
        Assert.Equal(2, activities.MostRunning);
        Assert.Equal(new FinalizeRequest("batch_test", null), activities.Finalized);
    }

    [Fact]
    public async Task A_chunk_that_saw_a_cancel_stops_the_scheduling_of_further_chunks()
    {
        var activities = new Activities { Chunks = 8, Parallel = 2, StopAt = 0, ChunkTime = TimeSpan.FromMilliseconds(300) };
        Assert.Equal(BatchStatus.Cancelled, await RunAsync(activities));
        Assert.Equal([0, 1], activities.Ran.Order());
        Assert.Equal(BatchStatus.Cancelled, activities.Finalized!.Stopped);
    }

    [Fact]
    public async Task The_end_of_the_completion_window_stops_the_scheduling_and_finalizes_as_expired()
    {
        var activities = new Activities { Chunks = 20, Parallel = 1, ChunkTime = TimeSpan.FromMilliseconds(400), Window = TimeSpan.FromSeconds(1) };
        Assert.Equal(BatchStatus.Expired, await RunAsync(activities));
        Assert.InRange(activities.Ran.Count, 1, 19);
        Assert.Equal(BatchStatus.Expired, activities.Finalized!.Stopped);
    }

    [Fact]
    public async Task A_batch_that_fails_validation_is_not_run_and_one_whose_activity_keeps_failing_is_marked_failed()
    {
        var invalid = new Activities { Invalid = true };
        Assert.Equal(BatchStatus.Failed, await RunAsync(invalid));
        Assert.Empty(invalid.Ran);
        Assert.Null(invalid.Finalized);

        var broken = new Activities { ValidationThrows = true };
        Assert.Equal(BatchStatus.Failed, await RunAsync(broken));
        Assert.Equal("batch_test", broken.Failed!.BatchId);
        Assert.Empty(broken.Ran);
    }
}
