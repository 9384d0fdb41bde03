namespace Serverless.Core.Metering;

/// <summary>
/// PostgreSQL's guarded path: an increment's guard did not hold (another instance brought a row near its limit since
/// this writer last saw it), so the server failed the batch before its COMMIT. The writer rolls it back and runs it
/// again on the locking path (<see cref="LedgerWriter"/>); nobody outside the writer sees this.
/// </summary>
internal sealed class LedgerGuardFailedException(Exception inner)
    : Exception("A guarded ledger increment would have broken a limit; the batch was not committed.", inner);
