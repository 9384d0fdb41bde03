namespace Serverless.Integration.Tests.Fixtures;

/// <summary>How an admin command of the local host ended: its exit code and what it printed (stdout and stderr).</summary>
public sealed record HostCommandResult(int ExitCode, string Output);
