namespace Serverless.Core.Files;

/// <summary>What a customer keeps in files: how many live (not expired) files, and their bytes.</summary>
public sealed record FileUsage(int Files, long Bytes);
