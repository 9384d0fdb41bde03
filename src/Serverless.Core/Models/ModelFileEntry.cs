namespace Serverless.Core.Models;

/// <summary>One file of a model folder as recorded in its manifest.</summary>
/// <param name="Name">Path relative to the model folder, with '/' separators.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content.</param>
public sealed record ModelFileEntry(string Name, long Size, string Sha256);
