namespace Serverless.Core.Files;

/// <summary>An upload's content as stored, under the file id it was given, before it is recorded as a file.</summary>
public sealed record UploadedContent(string Id, string BlobName, long Bytes);
