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

Stage-in mode (opt-in, see docs/admin/stagein.md): with STAGE_IN = true and
BurstBufferType=burst_buffer/lua, every --accel-data job of a non-root user
(Slurm refuses burst buffers to root's jobs) also gets the burst-buffer
request "#BB_LUA accel-data token=… paths=…", so contrib's burst_buffer.lua
warms its data while it is pending. A job whose own script or --bb carries
such a line is refused: only this hook writes it.
]]

local TAG = "accel-data:"
local STAGE_IN = false
local DIRECTIVE = "#BB_LUA accel-data"

-- spank_env returns the value of NAME in the job's SPANK environment.
local function spank_env(job_desc, name)
	local env = job_desc.spank_job_env
	if env == nil then
		return nil
	end
	for _, kv in pairs(env) do
		local v = string.match(kv, "^" .. name .. "=(.*)$")
		if v ~= nil then
			return v
		end
	end
	return nil
end

local function forged(s)
	return s ~= nil and string.find(s, DIRECTIVE, 1, true) ~= nil
end

-- stage_in adds the burst-buffer request; false with a message when the job
-- wrote one itself.
local function stage_in(job_desc, tok)
	if forged(job_desc.script) or forged(job_desc.burst_buffer) then
		return false, "accel-data: the job names '" .. DIRECTIVE .. "' itself; use --accel-data instead"
	end
	local paths = spank_env(job_desc, "ACCEL_DATA")
	if not STAGE_IN or paths == nil or paths == "" or job_desc.user_id == 0 then
		return true
	end
	local line = DIRECTIVE
	if tok ~= nil then
		line = line .. " token=" .. tok
	end
	line = line .. " paths=" .. string.gsub(paths, "[\r\n]", "")
	if job_desc.burst_buffer == nil or job_desc.burst_buffer == "" then
		job_desc.burst_buffer = line
	else
		job_desc.burst_buffer = job_desc.burst_buffer .. "\n" .. line
	end
	return true
end

function slurm_job_submit(job_desc, part_list, submit_uid)
	local tok = spank_env(job_desc, "ACCEL_TOKEN")
	if tok ~= nil and not string.match(tok, "^%x+$") then
		tok = nil
	end
	local ok, msg = stage_in(job_desc, tok)
	if not ok then
		slurm.log_user(msg)
		return slurm.ERROR
	end
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
