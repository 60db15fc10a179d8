--[[
accel-data: job_submit/lua hook (slurm.conf: JobSubmitPlugins=lua; install as
job_submit.lua next to slurm.conf, or merge the function body into yours).

The accel-data SPANK plugin gives every `sbatch --accel-data=…` submission a
random token (ACCEL_TOKEN in the job's SPANK environment) and hands the paths
to warmupd before Slurm has assigned a job id. This hook copies the token into
the job's admin comment ("accel-data:<token>"), which only admins can change,
so warmupd can map the token to the job id with `squeue --json` and read the
job's expected start time: a dataset needed in 10 minutes then outranks one
needed in 3 days. Without this hook everything still works; pending jobs just
count with an unknown start.
]]

local TAG = "accel-data:"

local function accel_token(job_desc)
	local env = job_desc.spank_job_env
	if env == nil then
		return nil
	end
	for _, kv in pairs(env) do
		local tok = string.match(kv, "^ACCEL_TOKEN=(%x+)$")
		if tok ~= nil then
			return tok
		end
	end
	return nil
end

function slurm_job_submit(job_desc, part_list, submit_uid)
	local tok = accel_token(job_desc)
	if tok == nil then
		return slurm.SUCCESS
	end
	local tag = TAG .. tok
	local old = job_desc.admin_comment
	if old == nil or old == "" then
		job_desc.admin_comment = tag
	elseif not string.find(old, tag, 1, true) then
		job_desc.admin_comment = old .. " " .. tag
	end
	return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
	return slurm.SUCCESS
end

return slurm.SUCCESS
