namespace Serverless.Core.Files;

/// <summary>An upload went past <see cref="FilesOptions.MaxUploadBytes"/>.</summary>
public sealed class FileTooLargeException : IOException
{
    public FileTooLargeException()
    {
    }

    public FileTooLargeException(string message)
        : base(message)
    {
    }

    public FileTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public FileTooLargeException(long limit)
        : base(FormattableString.Invariant($"The file is larger than the limit of {limit} bytes."))
    {
        Limit = limit;
    }

    public long Limit { get; }
}
