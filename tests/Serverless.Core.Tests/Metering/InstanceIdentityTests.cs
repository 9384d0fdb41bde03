using System.Diagnostics;
using Serverless.Core.Metering;

namespace Serverless.Core.Tests.Metering;

/// <summary>When the sweeper may settle another instance's reservations at once, without waiting for its heartbeat to lapse.</summary>
public sealed class InstanceIdentityTests
{
    private readonly InstanceIdentity _self = new(TimeProvider.System);

    private static LedgerInstance Row(string instanceId, string machine, int processId, DateTimeOffset startedAt) =>
        new() { InstanceId = instanceId, Machine = machine, ProcessId = processId, StartedAt = startedAt, LastSeenAt = startedAt };

    private static LedgerInstance Row(InstanceIdentity identity) =>
        Row(identity.InstanceId, identity.Machine, identity.ProcessId, identity.StartedAt);

    private static Process Start(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    [Fact]
    public void Another_host_in_this_process_is_not_dead()
    {
        var other = new InstanceIdentity(TimeProvider.System);
        Assert.False(_self.IsDeadLocalInstance(Row(other)));
        Assert.False(other.IsDeadLocalInstance(Row(_self)));
    }

    [Fact]
    public void An_earlier_process_that_had_our_process_id_is_dead()
    {
        // A restarted container: same hostname, same process id (often 1), but an instance this process never made.
        var earlier = Row($"{_self.Machine}:{_self.ProcessId}:0badf00d", _self.Machine, _self.ProcessId, _self.StartedAt.AddMinutes(-5));
        Assert.True(_self.IsDeadLocalInstance(earlier));
    }

    [Fact]
    public void An_instance_whose_process_has_exited_is_dead()
    {
        using var exited = Start("sh", "-c", "exit 0");
        exited.WaitForExit();
        Assert.True(_self.IsDeadLocalInstance(Row($"{_self.Machine}:{exited.Id}:00000001", _self.Machine, exited.Id, DateTimeOffset.UtcNow)));
    }

    [Fact]
    public void An_instance_whose_process_still_runs_is_not_dead_but_a_newer_process_with_its_id_means_it_is()
    {
        using var running = Start("sleep", "60");
        try
        {
            var registeredAfterStart = DateTimeOffset.UtcNow.AddSeconds(1);
            Assert.False(_self.IsDeadLocalInstance(Row($"{_self.Machine}:{running.Id}:00000002", _self.Machine, running.Id, registeredAfterStart)));

            // Registered long before the process now holding that id started: the id was reused.
            var registeredBeforeStart = DateTimeOffset.UtcNow.AddMinutes(-10);
            Assert.True(_self.IsDeadLocalInstance(Row($"{_self.Machine}:{running.Id}:00000003", _self.Machine, running.Id, registeredBeforeStart)));
        }
        finally
        {
            running.Kill();
            running.WaitForExit();
        }
    }

    [Fact]
    public void An_instance_on_another_machine_is_left_to_its_heartbeat()
    {
        Assert.False(_self.IsDeadLocalInstance(Row("elsewhere:1:00000004", "elsewhere", 1, DateTimeOffset.UtcNow.AddDays(-1))));
    }

    [Fact]
    public void An_instance_with_our_host_name_on_another_azure_instance_is_left_to_its_heartbeat()
    {
        // Two containers may share a host name without sharing a process table: the Azure instance id tells them apart.
        string elsewhere = InstanceIdentity.MachineOf(Environment.MachineName, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
        Assert.NotEqual(_self.Machine, elsewhere);
        Assert.False(_self.IsDeadLocalInstance(Row($"{elsewhere}:1:00000005", elsewhere, 1, DateTimeOffset.UtcNow.AddDays(-1))));
    }

    [Theory]
    [InlineData("host", null, "host")]
    [InlineData("host", "", "host")]
    [InlineData("host", "abc", "host/abc")]
    [InlineData("host", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "host/0f1e2d3c4b5a6978")]
    public void The_machine_is_the_host_name_joined_by_a_short_azure_instance_id(string host, string? azureInstance, string expected)
    {
        Assert.Equal(expected, InstanceIdentity.MachineOf(host, azureInstance));
    }

    [Fact]
    public void The_longest_machine_still_fits_the_ledgers_instance_columns()
    {
        string machine = InstanceIdentity.MachineOf(new string('h', 300), new string('a', 64));
        Assert.True(machine.Length <= 81, machine);
        Assert.True($"{machine}:{int.MaxValue}:00000000".Length <= 128);
    }
}
