namespace Serverless.Core.Files;

/// <summary>An upload's form, read and checked: the stored content of its file part and the fields that describe it.</summary>
/// <param name="Filename">The client's file name without any folder, at most <see cref="FileUploadReader.MaxFilenameLength"/> characters.</param>
/// <param name="ExpiresAfter">From expires_after; null for the default expiry.</param>
public sealed record FileUpload(UploadedContent Content, string Filename, string Purpose, TimeSpan? ExpiresAfter);
