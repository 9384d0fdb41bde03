namespace Serverless.Core.Models;

internal static class Placeholder;
