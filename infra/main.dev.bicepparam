// A development environment: one 4 GB instance that scales to zero, SQLite on the instance, the Phi-3 mini model.
// Secrets are read from environment variables when the file is compiled (by az deployment or bicep build-params),
// so they never sit in this file or in shell history; unset variables leave the stored Key Vault secrets as they are.
using 'main.bicep'

param baseName = 'serverless'
param environmentName = 'dev'
param instanceMemoryMB = 4096
param alwaysReadyInstances = 0
param maximumInstanceCount = 1
param maxConcurrentGenerations = 2
param maxQueuedRequests = 8
param modelId = 'phi3-mini'
param enablePostgres = false
param enableKeyVaultPurgeProtection = false
param operatorPrincipalId = readEnvironmentVariable('SERVERLESS_OPERATOR_ID', '')

param keysHashSecret = readEnvironmentVariable('SERVERLESS_KEYS_HASH_SECRET', '')
param adminKey = readEnvironmentVariable('SERVERLESS_ADMIN_KEY', '')
param stripeApiKey = readEnvironmentVariable('STRIPE_API_KEY', '')
param stripeWebhookSecret = readEnvironmentVariable('STRIPE_WEBHOOK_SECRET', '')
param postgresAdministratorPassword = readEnvironmentVariable('SERVERLESS_POSTGRES_PASSWORD', '')
