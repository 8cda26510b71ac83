// ExecStartPre= of a run unit that brings files: started as the run's user, inside the run's
// whole sandbox, in its working directory, before the script. It puts the files the request
// held in place from the bundle the front wrote (pyrunner-unpack-files BUNDLE_PATH). It runs
// with nothing the run lacks, so a fault here can reach no more than the run itself could;
// every entry is still checked again, since the bundle is trusted only so far.

#include "helpers/bundle_unpack.hpp"

#include <exception>
#include <iostream>
#include <span>
#include <string>

int main(int argc, char** argv)
{
    const std::span args(argv, static_cast<std::size_t>(argc));
    if (args.size() != 2)
    {
        std::cerr << "usage: pyrunner-unpack-files BUNDLE_PATH\n";
        return 2;
    }
    try
    {
        if (const auto problem = pyrunner::helpers::unpackBundle(args[1]))
        {
            std::cerr << "pyrunner-unpack-files: " << *problem << '\n';
            return 1;
        }
    }
    catch (const std::exception& error)
    {
        std::cerr << "pyrunner-unpack-files: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
