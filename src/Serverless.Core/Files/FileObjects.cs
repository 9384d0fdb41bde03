using System.Text.Json.Serialization;

namespace Serverless.Core.Files;

/// <summary>OpenAI's file object.</summary>
public sealed record FileObject(string Id, long Bytes, long CreatedAt, string Filename, string Purpose, long? ExpiresAt)
{
    [JsonPropertyOrder(-1)]
    public string Object => "file";

    /// <summary>A file is stored whole before it is listed, so it is always "processed".</summary>
    public string Status => "processed";

    public string? StatusDetails => null;

    public static FileObject From(StoredFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new(file.Id, file.Bytes, file.CreatedAt.ToUnixTimeSeconds(), file.Filename, file.Purpose, file.ExpiresAt?.ToUnixTimeSeconds());
    }
}

public sealed record FileList(IReadOnlyList<FileObject> Data, bool HasMore)
{
    [JsonPropertyOrder(-1)]
    public string Object => "list";

    public string? FirstId => Data.Count > 0 ? Data[0].Id : null;

    public string? LastId => Data.Count > 0 ? Data[^1].Id : null;
}

public sealed record FileDeleted(string Id, bool Deleted)
{
    [JsonPropertyOrder(-1)]
    public string Object => "file";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FileObject))]
[JsonSerializable(typeof(FileList))]
[JsonSerializable(typeof(FileDeleted))]
internal sealed partial class FilesJsonContext : JsonSerializerContext;
