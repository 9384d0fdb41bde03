namespace Serverless.Local.Cli;

/// <summary>A command refused its input (exit code 2); the message says why, for the operator to read.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message)
        : base(message)
    {
    }

    public CliException()
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
