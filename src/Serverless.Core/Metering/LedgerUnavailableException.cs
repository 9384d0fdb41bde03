namespace Serverless.Core.Metering;

/// <summary>The ledger could not be written (database down, locked or failing). Nothing of the batch was committed.</summary>
public sealed class LedgerUnavailableException : Exception
{
    public LedgerUnavailableException()
    {
    }

    public LedgerUnavailableException(string message)
        : base(message)
    {
    }

    public LedgerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
