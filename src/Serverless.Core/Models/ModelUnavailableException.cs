using System.Diagnostics.CodeAnalysis;

namespace Serverless.Core.Models;

/// <summary>
/// A model cannot be made ready on this instance right now. Nothing half-downloaded is left behind,
/// so the same call can simply be retried on a later request.
/// </summary>
[SuppressMessage("Design", "CA1032:Implement standard exception constructors", Justification = "Every instance must name its model and reason.")]
public sealed class ModelUnavailableException : Exception
{
    public ModelUnavailableException(
        string modelId, ModelUnavailableReason reason, string detail, string? fileName = null, Exception? innerException = null)
        : base($"Model '{modelId}' is unavailable: {detail}", innerException)
    {
        ModelId = modelId;
        Reason = reason;
        Detail = detail;
        FileName = fileName;
    }

    public string ModelId { get; }

    public ModelUnavailableReason Reason { get; }

    /// <summary>The message without the "Model 'x' is unavailable" preamble.</summary>
    public string Detail { get; }

    /// <summary>The manifest file name involved, when the problem is with one file.</summary>
    public string? FileName { get; }
}
