using Serverless.Benchmarks;

// Console benchmarks, not part of the test run: dotnet run -c Release --project tests/Serverless.Benchmarks -- inference|ledger|billing|batch
// Progress goes to stderr; stdout carries the table and, as its last line, one JSON object.
if (args.Length == 0 || args[0] is "help" or "-h" or "--help")
{
    Console.Error.WriteLine(BenchmarkArguments.Usage);
    return args.Length == 0 ? 2 : 0;
}

BenchmarkArguments arguments;
try
{
    arguments = BenchmarkArguments.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(BenchmarkArguments.Usage);
    return 2;
}

#if DEBUG
Console.Error.WriteLine("warning: this is a Debug build; run with -c Release for numbers worth comparing.");
#endif

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    switch (arguments.Mode)
    {
        case "inference":
            var report = await InferenceBenchmark.RunAsync(arguments, cancel.Token);
            report.Print(Console.Out);
            return 0;
        case "ledger":
            var ledger = await LedgerBenchmark.RunAsync(arguments, cancel.Token);
            ledger.Print(Console.Out);
            return 0;
        case "billing":
            var billing = await BillingBenchmark.RunAsync(arguments, cancel.Token);
            billing.Print(Console.Out);
            return 0;
        case "batch":
            var batch = await BatchBenchmark.RunAsync(arguments, cancel.Token);
            batch.Print(Console.Out);
            return 0;
        default:
            Console.Error.WriteLine($"error: unknown mode '{arguments.Mode}'.");
            Console.Error.WriteLine(BenchmarkArguments.Usage);
            return 2;
    }
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or IOException or System.Data.Common.DbException)
{
    // A failed check or a service that misbehaved: say what happened, without a stack trace in the way.
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
