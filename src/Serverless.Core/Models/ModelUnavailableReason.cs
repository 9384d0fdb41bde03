namespace Serverless.Core.Models;

public enum ModelUnavailableReason
{
    /// <summary>No manifest.json under the model's prefix: never uploaded, removed, or the upload did not finish.</summary>
    ManifestMissing,

    /// <summary>The manifest exists but cannot be parsed or lists unsafe file names.</summary>
    ManifestInvalid,

    /// <summary>A file listed in the manifest has no blob.</summary>
    FileMissing,

    /// <summary>A blob's size or SHA-256 differs from the manifest.</summary>
    FileCorrupt,

    /// <summary>Storage could not be reached or a transfer or cache write failed; likely transient.</summary>
    StorageError,

    /// <summary>The model definition itself is invalid (bad id or prefix); configuration validation normally catches this at start.</summary>
    InvalidDefinition,

    /// <summary>A local-folder model's folder is missing or is not a GenAI model folder.</summary>
    LocalFolderInvalid,

    /// <summary>The files are in place but ONNX Runtime GenAI could not load them (format, memory).</summary>
    LoadFailed,
}
