using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Serverless.Local.Jobs;

namespace Serverless.Integration.Tests.Batches;

/// <summary>
/// How the local host names itself among the workers of a shared task hub, and its partition lease settings
/// (ScaleOut/FleetBatchTests shows hosts handing a batch over with them).
/// </summary>
public sealed class LocalDurableTaskWorkerTests
{
    [Fact]
    public void Hosts_on_one_machine_listening_on_different_addresses_are_different_workers()
    {
        Assert.NotEqual(
            LocalDurableTaskRuntime.WorkerIdFor("vm", ["http://127.0.0.1:5001"]),
            LocalDurableTaskRuntime.WorkerIdFor("vm", ["http://127.0.0.1:5002"]));
    }

    [Fact]
    public void A_host_restarted_on_its_addresses_is_the_same_worker_whatever_order_they_are_listed_in()
    {
        Assert.Equal(
            LocalDurableTaskRuntime.WorkerIdFor("vm", ["http://127.0.0.1:5001", "http://[::1]:5001"]),
            LocalDurableTaskRuntime.WorkerIdFor("vm", ["http://[::1]:5001", "http://127.0.0.1:5001"]));
    }

    [Fact]
    public void Hosts_on_different_machines_are_different_workers_and_a_host_without_addresses_is_its_machine()
    {
        Assert.NotEqual(
            LocalDurableTaskRuntime.WorkerIdFor("vm-1", ["http://0.0.0.0:80"]),
            LocalDurableTaskRuntime.WorkerIdFor("vm-2", ["http://0.0.0.0:80"]));
        Assert.Equal("vm", LocalDurableTaskRuntime.WorkerIdFor("vm", []));
    }

    [Theory]
    [InlineData("00:00:06", "00:00:02", true)]
    [InlineData("00:00:06", "00:00:06", false)]
    [InlineData("00:00:05", "00:00:10", false)]
    public void A_partition_lease_renewed_no_more_often_than_it_lasts_is_refused(string lease, string renew, bool valid)
    {
        var options = new LocalDurableTaskOptions
        {
            PartitionLeaseInterval = TimeSpan.Parse(lease, CultureInfo.InvariantCulture),
            PartitionLeaseRenewInterval = TimeSpan.Parse(renew, CultureInfo.InvariantCulture),
        };
        var results = new List<ValidationResult>();

        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        if (!valid)
        {
            Assert.Contains("PartitionLeaseRenewInterval must be shorter than PartitionLeaseInterval", Assert.Single(results).ErrorMessage, StringComparison.Ordinal);
        }
    }
}
